"""The provisioning deploy: one pyinfra operation per thing a fresh VM needs before
`inv deploy`. Each returns pyinfra's OperationMeta, collected as (name, meta) so the run
can say what changed."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from pyinfra.api.operation import OperationMeta
from pyinfra.context import host
from pyinfra.facts.hardware import Memory
from pyinfra.operations import apt, files, server, systemd

from shipyard.errors import PrerequisiteError
from shipyard.provision import render
from shipyard.provision.durable_logs import provision_durable_logs
from shipyard.provision.facts import AptCandidate, HasSystemd, PackagedCompose
from shipyard.provision.operations import firewall_applied, sshd_drop_in, swapfile
from shipyard.provision.settings import VmSettings

BASE_PACKAGES = ("docker.io", "iptables", "chrony", "unattended-upgrades", "ca-certificates")
COMPOSE_PACKAGE = "docker-compose-v2"
"""Ubuntu's Compose v2 plugin package (universe); Debian 12 has none."""


@dataclass
class Steps:
    """The operations added for one VM, in order, with their names."""

    ops: list[tuple[str, OperationMeta]] = field(default_factory=list)

    def add(self, name: str, meta: OperationMeta) -> OperationMeta:
        """Record operation `name`."""
        self.ops.append((name, meta))
        return meta


def text(content: str) -> io.BytesIO:
    """File content as pyinfra uploads it."""
    return io.BytesIO(content.encode())


def provision_vm(settings: VmSettings, compose_binary: str | None, steps: Steps) -> None:
    """Add every provisioning operation for the current pyinfra host to `steps`.

    `compose_binary`: a local Compose plugin to install where no package provides one.
    """
    systemd_here = host.get_fact(HasSystemd)
    _packages(settings, compose_binary, steps)
    _users_and_paths(settings, steps)
    _logs_and_upgrades(systemd_here, steps)
    provision_durable_logs(systemd_here, steps.add)
    add = steps.add
    add(
        "sshd hardened (checked with sshd -t)",
        sshd_drop_in(path=render.SSHD_DROP_IN, content=render.sshd_hardening()),
    )
    _firewall(settings, systemd_here, steps)
    memory_mb = host.get_fact(Memory) or 0
    if settings.swap_mb and memory_mb < settings.small_vm_mb:
        add(
            f"swap file {settings.swap_mb} MB (VM has {memory_mb} MB)",
            swapfile(path=render.SWAP_FILE, size_mb=settings.swap_mb),
        )


def _packages(settings: VmSettings, compose_binary: str | None, steps: Steps) -> None:
    add = steps.add
    # Configuration first, so the services start with it when their packages install.
    docker_conf = add(
        "Docker log rotation and live-restore (daemon.json)",
        files.put(
            src=text(render.docker_daemon_json()),
            dest=render.DOCKER_DAEMON_JSON,
            user="root",
            group="root",
            mode="644",
        ),
    )
    if settings.time_servers:
        add(
            "chrony time servers",
            files.put(
                src=text(render.chrony_conf(settings.time_servers)),
                dest=render.CHRONY_CONF,
                user="root",
                group="root",
                mode="644",
            ),
        )
    add("APT package lists fresh (1 h)", apt.update(cache_time=3600))
    packages = list(BASE_PACKAGES)
    if host.get_fact(AptCandidate, package=COMPOSE_PACKAGE):
        packages.append(COMPOSE_PACKAGE)
    add(f"packages: {', '.join(packages)}", apt.packages(packages=packages, no_recommends=True))
    if COMPOSE_PACKAGE not in packages and not host.get_fact(PackagedCompose):
        if compose_binary is None:
            raise PrerequisiteError(
                f"no Compose v2 plugin for this VM: APT offers no {COMPOSE_PACKAGE}",
                hint="enable Ubuntu's universe component (add-apt-repository universe), or "
                "install Docker's docker-compose-plugin, then provision again",
            )
        add(
            "Docker Compose v2 plugin",
            files.put(
                src=compose_binary,
                dest="/usr/local/lib/docker/cli-plugins/docker-compose",
                user="root",
                group="root",
                mode="755",
                add_deploy_dir=False,
            ),
        )
    add(
        "Docker engine running, enabled at boot",
        server.service(service="docker", running=True, enabled=True),
    )
    add(
        "Docker restarted for its new daemon.json",
        server.service(service="docker", restarted=True, _if=docker_conf.did_change),
    )
    add(
        "chrony (time sync) running, enabled at boot",
        server.service(service="chrony", running=True, enabled=True),
    )


def _users_and_paths(settings: VmSettings, steps: Steps) -> None:
    add = steps.add
    user = settings.deploy_user
    add(
        f"user {user}: key only, group docker",
        server.user(  # noqa: S604 - shell= is the login shell, not a subprocess
            user=user,
            shell="/bin/bash",
            groups=["docker"],
            create_home=True,
            public_keys=[settings.authorized_key],
            delete_keys=True,
        ),
    )
    add(
        f"deploy path {settings.deploy_path}",
        files.directory(path=settings.deploy_path, user=user, group=user, mode="755"),
    )
    add(
        f"node-exporter textfile directory {settings.textfile_dir}",
        files.directory(path=settings.textfile_dir, user=user, group=user, mode="755"),
    )


def _logs_and_upgrades(systemd_here: bool, steps: Steps) -> None:
    add = steps.add
    add(
        "unattended security upgrades",
        files.put(
            src=text(render.auto_upgrades()),
            dest=render.AUTO_UPGRADES,
            user="root",
            group="root",
            mode="644",
        ),
    )
    journald = add(
        "journald capped at 500 MB",
        files.put(
            src=text(render.journald_cap()),
            dest=render.JOURNALD_DROP_IN,
            user="root",
            group="root",
            mode="644",
        ),
    )
    if systemd_here:
        add(
            "journald restarted for its cap",
            systemd.service(service="systemd-journald", restarted=True, _if=journald.did_change),
        )


def _firewall(settings: VmSettings, systemd_here: bool, steps: Steps) -> None:
    add = steps.add
    ports = ", ".join(str(port) for port in settings.admitted_ports)
    add(
        "firewall script",
        files.put(
            src=text(render.firewall_script(settings)),
            dest=render.FIREWALL_SCRIPT,
            user="root",
            group="root",
            mode="755",
        ),
    )
    unit = add(
        "firewall unit (applied at boot)",
        files.put(
            src=text(render.firewall_unit()),
            dest=render.FIREWALL_UNIT,
            user="root",
            group="root",
            mode="644",
        ),
    )
    if systemd_here:
        add("systemd reloaded for the firewall unit", systemd.daemon_reload(_if=unit.did_change))
        add(
            "firewall unit enabled",
            systemd.service(service="shipyard-firewall.service", running=None, enabled=True),
        )
    add(
        f"firewall: TCP {ports} only, first in INPUT; DOCKER-USER",
        firewall_applied(script=render.FIREWALL_SCRIPT),
    )
