"""Shipyard's Invoke collection. Each module is a thin group: parse, call the library, print."""

from invoke import Collection

from tasks import backup, checks, db, deploy, env, images, quality, sandbox, stack

ns = Collection()
for task in (stack.setup, stack.up, stack.down, stack.ps, stack.logs):
    ns.add_task(task)
ns.add_task(checks.smoke)
ns.add_task(checks.load)
ns.add_task(quality.test)
ns.add_task(quality.lint)
ns.add_collection(images)
ns.add_collection(env)
ns.add_collection(db)
ns.add_collection(sandbox)
ns.add_collection(backup.collection)
ns.add_collection(backup.dr)
ns.add_task(backup.restore)
for task in (deploy.deploy_, deploy.rollback, deploy.vm_status, deploy.releases, deploy.audit):
    ns.add_task(task)
ns.add_collection(deploy.lock)
