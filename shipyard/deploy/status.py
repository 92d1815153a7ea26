"""What runs on a VM: the current release, its containers (health, uptime), free disk and
the deploy lock (`inv status`, `inv ps --env VM`), and its logs (`inv logs --env VM`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from shipyard.config import ShipyardConfig
from shipyard.deploy import lock
from shipyard.deploy.plan import disk_free_argv, parse_df_kib
from shipyard.deploy.preflight import deployable_target
from shipyard.errors import ConfigError
from shipyard.vm import releases
from shipyard.vm.target import Target

_FORMAT = '{{.Names}}\t{{.Label "com.docker.compose.service"}}\t{{.State}}\t{{.Status}}'
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


@dataclass(frozen=True)
class ContainerStatus:
    """One container of the project on the VM."""

    name: str
    service: str
    state: str
    health: str
    status: str
    """Docker's own words, e.g. `Up 3 minutes (healthy)`: the uptime is there."""


@dataclass(frozen=True)
class VMStatus:
    """`inv status` of one environment."""

    env: str
    current: str | None
    version: str | None
    git_sha: str | None
    deployed_at: str | None
    deployed_by: str | None
    disk_free_mb: int
    lock: str
    containers: list[ContainerStatus] = field(default_factory=list)


def project_containers_argv(project: str) -> list[str]:
    """Every container of the compose project on the VM, one tab-separated line each."""
    label = f"label=com.docker.compose.project={project}"
    return ["docker", "ps", "--all", "--filter", label, "--format", _FORMAT]


def parse_containers(output: str) -> list[ContainerStatus]:
    """Lines of `project_containers_argv` -> ContainerStatus, sorted by service then name."""
    found = []
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        name, service, state, status = parts
        health = _HEALTH.search(status)
        found.append(
            ContainerStatus(name, service, state, health.group(1) if health else "", status)
        )
    return sorted(found, key=lambda row: (row.service, row.name))


def containers(target: Target) -> list[ContainerStatus]:
    """The project's containers on the VM."""
    result = target.run(project_containers_argv(target.env.project), "listing containers")
    return parse_containers(result.stdout)


def read_status(target: Target) -> VMStatus:
    """Read everything `inv status` shows (nothing changes on the VM)."""
    current = releases.current_release(target)
    facts = releases.release_facts(target, current) if current else None
    df = target.run(disk_free_argv(target.layout), "df on the VM")
    found = lock.holder(target)
    state = "free"
    if found is not None:
        state = f"held by {found.describe()} (holder process {lock.holder_alive(target)})"
    return VMStatus(
        env=target.env.name,
        current=current,
        version=facts.version if facts else None,
        git_sha=facts.git_sha if facts else None,
        deployed_at=facts.deployed_at if facts else None,
        deployed_by=facts.deployed_by if facts else None,
        disk_free_mb=parse_df_kib(df.stdout) // 1024,
        lock=state,
        containers=containers(target),
    )


def logs_argv(target: Target, services: Sequence[str], *, follow: bool, tail: int) -> list[str]:
    """`docker compose logs` in the current release's project on the VM."""
    current = releases.current_release(target)
    if current is None:
        raise ConfigError(
            f"nothing is deployed to {target.env.name} yet",
            hint=f"`inv deploy --env {target.env.name}`",
        )
    return target.project(current).logs(services, follow=follow, tail=tail)


def vm_containers(config: ShipyardConfig, name: str) -> list[ContainerStatus]:
    """`inv ps --env VM`: the containers of environment `name` on its VM."""
    target = deployable_target(config, name)
    with target.runner:
        return containers(target)


def show_vm_logs(
    config: ShipyardConfig, name: str, services: Sequence[str], *, follow: bool, tail: int
) -> None:
    """`inv logs --env VM`: the current release's container logs, copied to our terminal."""
    target = deployable_target(config, name)
    with target.runner:
        argv = logs_argv(target, services, follow=follow, tail=tail)
        target.runner.run(argv, capture=False).raise_for_status("docker compose logs on the VM")
