"""Shipyard's Invoke collection. Each module is a thin group: parse, call the library, print."""

from invoke import Collection

import tasks.secret_tasks as secret_tasks  # not `secrets`: tasks/ is on sys.path
from tasks import (
    backup,
    certs,
    checks,
    ci,
    db,
    deploy,
    env,
    images,
    monitoring,
    quality,
    release,
    sandbox,
    stack,
)
from tasks import provision as provisioning

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
ns.add_collection(release.collection)
ns.add_collection(ci.collection)
ns.add_collection(Collection.from_module(secret_tasks), name="secrets")
ns.add_collection(monitoring.collection)
ns.add_collection(monitoring.alerts)
ns.add_collection(certs.collection)
ns.add_task(provisioning.provision_)
