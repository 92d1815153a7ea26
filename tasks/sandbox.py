"""The sandbox VM: `inv sandbox.up`, `inv sandbox.down`, `inv sandbox.ssh`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Context, task

from shipyard import console
from shipyard.config import load_config

if TYPE_CHECKING:
    from shipyard.sandbox.vm import Sandbox

SANDBOX = "sandbox"


def _sandbox(c: Context, env: str, bare: bool = False) -> Sandbox:
    from shipyard.sandbox.vm import Sandbox

    return Sandbox.for_env(load_config(c.config).environment(env), bare=bare)


@task(
    help={
        "env": "environment the sandbox VM serves (default: sandbox)",
        "bare": "a FRESH VM instead: no Docker, no deploy user, only the sudo user `debian` "
        "(prepare it with `inv provision`)",
    }
)
@console.exits_cleanly
def up(c, env=SANDBOX, bare=False):
    """Start a local replica of a fresh VM (SSH and HTTP on 127.0.0.1) and trust its host key."""
    from shipyard.local_setup import ensure_env_file

    sandbox = _sandbox(c, env, bare)
    started = sandbox.up()
    environment = sandbox.env
    env_file = environment.path(environment.env_file)
    if ensure_env_file(env_file, environment):
        console.done(f"created {env_file.name} with generated secrets (mode 0600)")
    from shipyard.sandbox import tls

    if tls.is_https(environment):
        ca = tls.start_test_ca(environment, sandbox.name)
        tls.set_values(env_file, tls.env_values(environment, ca))
        console.done(f"test ACME server (Pebble) at {ca.directory_url}; {env_file.name} uses it")
    verb = "started" if started else "already running:"
    console.result(f"sandbox VM {verb} {sandbox.name}")
    login = sandbox.flavour.login_user or environment.user
    console.say(f"  ssh         {login}@{environment.host}:{environment.port}")
    console.say(f"  host key    {environment.known_hosts_file}")
    console.say(f"  public URL  {environment.public_url} (nginx, once the stack is deployed)")
    if bare:
        console.say(f"Next: `inv provision --env {env}`, then `inv deploy --env {env}`.")
    else:
        console.say("Next: `inv sandbox.ssh` for a shell on it, `inv sandbox.down` to remove it.")


@task(help={"env": "environment the sandbox VM serves (default: sandbox)"})
@console.exits_cleanly
def down(c, env=SANDBOX):
    """Remove the sandbox VM and everything deployed to it."""
    from shipyard.sandbox import tls

    sandbox = _sandbox(c, env)
    if tls.stop_test_ca(sandbox.name):
        console.done("stopped the sandbox's test ACME server")
    if sandbox.down():
        console.result(f"removed the sandbox VM {sandbox.name}")
    else:
        console.skipped(f"no sandbox VM {sandbox.name}")


@task(help={"env": "environment the sandbox VM serves (default: sandbox)"})
@console.exits_cleanly
def ssh(c, env=SANDBOX):
    """Open a shell on the sandbox VM as `deploy` (host key checked)."""
    _sandbox(c, env).exec_ssh()
