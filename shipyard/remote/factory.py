"""The runner for an environment: this machine for `local`, SSH for a VM."""

from __future__ import annotations

from shipyard.config import PROJECT_ROOT, Environment
from shipyard.remote.base import Runner
from shipyard.remote.connection import SSHTarget
from shipyard.remote.local import LocalRunner
from shipyard.remote.ssh import SSHRunner


def ssh_target(env: Environment) -> SSHTarget:
    """Where an environment's VM is and which host key and login key to use."""
    if env.host is None:
        raise ValueError(f"environment {env.name} has no host")
    return SSHTarget(
        host=env.host,
        known_hosts=env.known_hosts_file,
        user=env.user,
        port=env.port,
        key_file=env.path(env.ssh_key) if env.ssh_key else None,
        connect_timeout=env.connect_timeout,
    )


def runner_for(env: Environment) -> Runner:
    """LocalRunner for an environment without a host, else an SSHRunner (connects lazily)."""
    if env.is_local:
        return LocalRunner(PROJECT_ROOT)
    return SSHRunner(ssh_target(env))
