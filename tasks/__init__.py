"""Shipyard's Invoke collection. Each module is a thin group: parse, call the library, print."""

from invoke import Collection

from tasks import env, images, quality, stack

ns = Collection()
for task in (stack.setup, stack.up, stack.down, stack.ps, stack.logs):
    ns.add_task(task)
ns.add_task(quality.test)
ns.add_task(quality.lint)
ns.add_collection(images)
ns.add_collection(env)
