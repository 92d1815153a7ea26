"""The zero-downtime switch: a new app container beside the old one, traffic moved to it
once it passed the gate, then the old one drained and stopped.

nginx reaches the app through a unix socket symlink (plan.LIVE_SOCKET) in a volume both
share; moving traffic is renaming that symlink to point at the new container's socket. nginx
resolves the path on every new upstream connection, so it follows at once, and it is not
reloaded: its client connections, idle keep-alive ones included, are never closed by a
deploy. nginx is reloaded (gracefully) only when the release's nginx config differs from
the live one.

The drain waits until the old container has no connection left on its socket (requests in
flight or queued), and, after a reload, until the nginx workers it replaced have exited. It
is usually over in milliseconds, bounded by DRAIN_TIMEOUT for a slow upload; the old app
then still finishes what it is serving (gunicorn's graceful stop on SIGTERM).

Keeping the old container running until the smoke checks pass makes a rollback cheap:
point the live socket back, drain and stop the new one (shipyard.deploy.rollback).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from shipyard import console
from shipyard.deploy.plan import (
    APP_SERVICE,
    DATA_SERVICES,
    EDGE_SERVICE,
    containers_argv,
    healthy_services_argv,
    hostnames_argv,
    live_socket_argv,
    nginx_config_argv,
    nginx_reload_argv,
    nginx_test_argv,
    nginx_workers_alive_argv,
    point_socket_argv,
    socket_connections_argv,
    start_app_argv,
    start_data_argv,
    start_edge_argv,
    stop_argv,
    upstream_conf,
)
from shipyard.errors import CommandFailedError
from shipyard.vm.target import Target

DRAIN_TIMEOUT = 30.0
"""The longest the drain waits for the leaving container's requests (and, after a reload,
the replaced nginx workers) to finish."""
DRAIN_POLL_SECONDS = 0.2
WAIT_TIMEOUT = 180


def containers(target: Target, service: str, *, running_only: bool = False) -> list[str]:
    """The names of a service's containers on the VM, sorted."""
    argv = containers_argv(target.env.project, service, running_only=running_only)
    result = target.run(argv, f"listing {service} containers", timeout=60)
    return sorted(line.strip() for line in result.stdout.splitlines() if line.strip())


@dataclass(frozen=True)
class EdgeReload:
    """What a graceful nginx reload left to drain: the old workers of its container (none
    when nginx was not reloaded)."""

    container: str | None = None
    old_workers: list[str] = field(default_factory=list)


def healthy_services(target: Target) -> dict[str, list[str]]:
    """Service -> names of its running containers whose health check passes."""
    result = target.run(healthy_services_argv(target.env.project), "listing healthy services")
    found: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        service, _, name = line.strip().partition(" ")
        if service and name:
            found.setdefault(service, []).append(name)
    return found


def start_data_services(target: Target, release: str) -> str:
    """The database and object store, started unless both are healthy already (never
    recreated); returns the database container's name."""
    healthy = healthy_services(target)
    if not all(healthy.get(service) for service in DATA_SERVICES):
        argv = start_data_argv(target.project(release), WAIT_TIMEOUT)
        target.run(argv, "starting the database and object store", timeout=WAIT_TIMEOUT + 60)
        healthy = healthy_services(target)
    databases = healthy.get(DATA_SERVICES[0])
    if not databases:
        raise CommandFailedError(f"no healthy {DATA_SERVICES[0]} container after starting it")
    return databases[0]


def start_beside(target: Target, release: str, running: list[str]) -> str:
    """Start one app container of the release beside `running`; returns its name."""
    argv = start_app_argv(target.project(release), len(running) + 1)
    target.run(argv, "starting the new app container", timeout=WAIT_TIMEOUT)
    new = sorted(set(containers(target, APP_SERVICE)) - set(running))
    if len(new) != 1:
        raise CommandFailedError(f"expected one new app container, found {new or 'none'}")
    return new[0]


def route_to(target: Target, release: str, container: str) -> EdgeReload:
    """Send traffic to `container`: the release's nginx config installed, the live socket
    pointed at the container, and nginx started when it is not running, or reloaded
    gracefully only when its config changed. Returns what a reload left to drain."""
    installed = target.run(
        nginx_config_argv(target.layout, release, upstream_conf()), "writing the nginx config"
    )
    target.run(point_socket_argv(container), f"pointing the live socket at {container}")
    edges = containers(target, EDGE_SERVICE, running_only=True)
    if not edges:
        argv = start_edge_argv(target.project(release), WAIT_TIMEOUT)
        target.run(argv, "starting nginx", timeout=WAIT_TIMEOUT + 60)
        return EdgeReload()
    if installed.stdout.strip() == "unchanged":
        return EdgeReload()
    target.run(nginx_test_argv(edges[0]), "nginx -t (the new config)")
    reloaded = target.run(nginx_reload_argv(edges[0]), "reloading nginx (its config changed)")
    return EdgeReload(edges[0], reloaded.stdout.split())


def routed_container(target: Target) -> str | None:
    """The app container the live socket points at (None when it points at none running)."""
    running = containers(target, APP_SERVICE, running_only=True)
    if not running:
        return None
    link = target.probe(live_socket_argv(running[0])).stdout.strip()
    hostnames = target.run(hostnames_argv(running), "reading the app containers' hostnames")
    for line in hostnames.stdout.splitlines():
        name, _, hostname = line.strip().partition(" ")
        if f"{hostname}.sock" == link:
            return name.lstrip("/")
    return None


def drain(target: Target, reload: EdgeReload, leaving: Sequence[str]) -> float:
    """Wait until no request is on its way to the `leaving` containers: the nginx workers a
    reload replaced have exited, and none of them has a connection left on its socket.
    Returns the seconds waited. Gives up after DRAIN_TIMEOUT with a warning: the old app
    still finishes its requests when it is stopped."""
    started = time.monotonic()
    alive = list(reload.old_workers) if reload.container else []
    busy = list(leaving)
    while (alive or busy) and time.monotonic() - started < DRAIN_TIMEOUT:
        if alive:
            argv = nginx_workers_alive_argv(str(reload.container), alive)
            alive = target.run(argv, "checking the old nginx workers").stdout.split()
        if not alive:
            busy = [name for name in busy if _connections(target, name) > 0]
        if alive or busy:
            time.sleep(DRAIN_POLL_SECONDS)
    if alive or busy:
        console.warn(
            f"{', '.join(busy) or 'old nginx workers'} still busy after {DRAIN_TIMEOUT:.0f} s "
            "(a long request?); stopping the old app anyway: it finishes what it serves"
        )
    return time.monotonic() - started


def _connections(target: Target, container: str) -> int:
    """Connections open on `container`'s socket (0 when it is gone)."""
    result = target.probe(socket_connections_argv(container))
    return int(result.stdout.strip() or 0) if result.ok else 0


def stop(target: Target, old: list[str]) -> None:
    """Stop and remove the old app containers (SIGTERM: gunicorn finishes in-flight
    requests first)."""
    for container in old:
        target.run(stop_argv(container), f"stopping {container}", timeout=120)
