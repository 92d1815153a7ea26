"""A safe way in: the profile publishes Prometheus, Alertmanager and Grafana on the VM's
loopback only; `inv monitoring.open` forwards them over SSH to this machine's loopback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shipyard.config import Environment
from shipyard.errors import CommandFailedError
from shipyard.monitoring.profile import PORTS
from shipyard.monitoring.runtime import container_id, published_port
from shipyard.remote import Runner


@dataclass(frozen=True)
class Forward:
    """One service: its port on the stack's host, and on this machine."""

    service: str
    remote_port: int
    local_port: int

    @property
    def url(self) -> str:
        """Where it answers on this machine."""
        return f"http://127.0.0.1:{self.local_port}"


def find_forwards(runner: Runner, project: str) -> list[Forward]:
    """The profile's published services (Grafana only when it runs)."""
    forwards = []
    for service, port in PORTS.items():
        try:
            container = container_id(runner, project, service)
        except CommandFailedError:
            if service == "grafana":
                continue
            raise
        forwards.append(Forward(service, published_port(runner, container, port), port))
    return forwards


def forward_argv(env: Environment, forwards: Sequence[Forward]) -> list[str]:
    """`ssh -N -L ...` to the environment's VM, trusting only its known_hosts file."""
    if env.is_local or env.host is None:
        raise CommandFailedError(f"{env.name} is this machine: no tunnel needed")
    argv = [
        "ssh", "-N",
        "-o", "ExitOnForwardFailure=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={env.known_hosts_file}",
    ]  # fmt: skip
    if env.port:
        argv += ["-p", str(env.port)]
    if env.ssh_key:
        argv += ["-i", str(env.path(env.ssh_key))]
    for forward in forwards:
        argv += ["-L", f"127.0.0.1:{forward.local_port}:127.0.0.1:{forward.remote_port}"]
    destination = f"{env.user}@{env.host}" if env.user else env.host
    return [*argv, destination]
