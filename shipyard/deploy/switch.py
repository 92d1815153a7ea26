"""The zero-downtime switch: a new app container beside the old one, nginx pointed at it
with a graceful reload once it passed the gate, then the old one drained and stopped.

The drain waits for the nginx workers that the reload replaced to exit: they exit once
their last request to the old upstream is answered, so from then on no request can reach
the old container through nginx. It is usually over in milliseconds, bounded by
DRAIN_TIMEOUT for a slow upload; the old app then still finishes what it is serving
(gunicorn's graceful stop on SIGTERM).

Keeping the old container running until the smoke checks pass makes a rollback cheap:
point nginx back, reload, stop the new one (shipyard.deploy.rollback).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from shipyard import console
from shipyard.deploy.context import Target
from shipyard.deploy.plan import (
    APP_SERVICE,
    DATA_SERVICES,
    EDGE_SERVICE,
    containers_argv,
    healthy_services_argv,
    nginx_config_argv,
    nginx_reload_argv,
    nginx_test_argv,
    nginx_workers_alive_argv,
    start_app_argv,
    start_data_argv,
    start_edge_argv,
    stop_argv,
    upstream_conf,
)
from shipyard.errors import CommandFailedError

DRAIN_TIMEOUT = 30.0
"""The longest the drain waits for the replaced nginx workers to finish their requests."""
DRAIN_POLL_SECONDS = 0.2
WAIT_TIMEOUT = 180


def containers(target: Target, service: str, *, running_only: bool = False) -> list[str]:
    """The names of a service's containers on the VM, sorted."""
    argv = containers_argv(target.env.project, service, running_only=running_only)
    result = target.run(argv, f"listing {service} containers", timeout=60)
    return sorted(line.strip() for line in result.stdout.splitlines() if line.strip())


@dataclass(frozen=True)
class EdgeReload:
    """What a graceful nginx reload left to drain: the old workers of its container."""

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
    """Install the release's nginx config with `container` as upstream, then reload nginx
    gracefully (or start nginx when it is not running yet): what is left to drain."""
    target.run(
        nginx_config_argv(target.layout, release, upstream_conf(container)),
        "writing the nginx config",
    )
    edges = containers(target, EDGE_SERVICE, running_only=True)
    if not edges:
        argv = start_edge_argv(target.project(release), WAIT_TIMEOUT)
        target.run(argv, "starting nginx", timeout=WAIT_TIMEOUT + 60)
        return EdgeReload()
    target.run(nginx_test_argv(edges[0]), "nginx -t (the new config)")
    reloaded = target.run(nginx_reload_argv(edges[0]), "reloading nginx")
    return EdgeReload(edges[0], reloaded.stdout.split())


def drain(target: Target, reload: EdgeReload) -> float:
    """Wait until the nginx workers replaced by a reload have exited (so no request is on
    its way to the old upstream); returns the seconds waited. Gives up after DRAIN_TIMEOUT
    with a warning: the old app still finishes its requests when it is stopped."""
    started = time.monotonic()
    alive = reload.old_workers
    while reload.container and alive and time.monotonic() - started < DRAIN_TIMEOUT:
        alive = target.run(
            nginx_workers_alive_argv(reload.container, alive), "checking the old nginx workers"
        ).stdout.split()
        if alive:
            time.sleep(DRAIN_POLL_SECONDS)
    if alive:
        console.warn(
            f"{len(alive)} old nginx worker(s) still busy after {DRAIN_TIMEOUT:.0f} s "
            "(a long request?); stopping the old app anyway: it finishes what it serves"
        )
    return time.monotonic() - started


def stop(target: Target, old: list[str]) -> None:
    """Stop and remove the old app containers (SIGTERM: gunicorn finishes in-flight
    requests first)."""
    for container in old:
        target.run(stop_argv(container), f"stopping {container}", timeout=120)
