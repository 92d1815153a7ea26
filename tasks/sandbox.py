"""The sandbox VM: `inv sandbox.up`, `inv sandbox.down`, `inv sandbox.ssh`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Context, task

from shipyard import console
from shipyard.config import load_config

if TYPE_CHECKING:
    from shipyard.sandbox.vm import Sandbox

SANDBOX = "sandbox"


def _sandbox(c: Context, env: str) -> Sandbox:
    from shipyard.sandbox.vm import Sandbox

    return Sandbox.for_env(load_config(c.config).environment(env))


@task(help={"env": "environment the sandbox VM serves (default: sandbox)"})
@console.exits_cleanly
def up(c, env=SANDBOX):
    """Start a local replica of a fresh VM (SSH and HTTP on 127.0.0.1) and trust its host key."""
    from shipyard.local_setup import ensure_env_file

    sandbox = _sandbox(c, env)
    started = sandbox.up()
    environment = sandbox.env
    env_file = environment.path(environment.env_file)
    if ensure_env_file(env_file, environment):
        console.done(f"created {env_file.name} with generated secrets (mode 0600)")
    verb = "started" if started else "already running:"
    console.result(f"sandbox VM {verb} {sandbox.name}")
    console.say(f"  ssh         {environment.user}@{environment.host}:{environment.port}")
    console.say(f"  host key    {environment.known_hosts_file}")
    console.say(f"  public URL  {environment.public_url} (nginx, once the stack is deployed)")
    console.say("Next: `inv sandbox.ssh` for a shell on it, `inv sandbox.down` to remove it.")


@task(help={"env": "environment the sandbox VM serves (default: sandbox)"})
@console.exits_cleanly
def down(c, env=SANDBOX):
    """Remove the sandbox VM and everything deployed to it."""
    sandbox = _sandbox(c, env)
    if sandbox.down():
        console.result(f"removed the sandbox VM {sandbox.name}")
    else:
        console.skipped(f"no sandbox VM {sandbox.name}")


@task(help={"env": "environment the sandbox VM serves (default: sandbox)"})
@console.exits_cleanly
def ssh(c, env=SANDBOX):
    """Open a shell on the sandbox VM as `deploy` (host key checked)."""
    _sandbox(c, env).exec_ssh()
