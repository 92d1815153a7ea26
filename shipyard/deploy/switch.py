"""The zero-downtime switch: a new app container beside the old one, nginx pointed at it
with a graceful reload once it passed the gate, then the old one drained and stopped.

Keeping the old container running until the smoke checks pass makes a rollback cheap:
point nginx back, reload, stop the new one (shipyard.deploy.rollback).
"""

from __future__ import annotations

import time

from shipyard.deploy.context import Target
from shipyard.deploy.plan import (
    APP_SERVICE,
    EDGE_SERVICE,
    containers_argv,
    nginx_config_argv,
    nginx_reload_argv,
    nginx_test_argv,
    start_app_argv,
    start_data_argv,
    start_edge_argv,
    stop_argv,
    upstream_conf,
)
from shipyard.errors import CommandFailedError

DRAIN_SECONDS = 3.0
"""After the reload: old nginx workers finish their requests to the old container."""
WAIT_TIMEOUT = 180


def containers(target: Target, service: str, *, running_only: bool = False) -> list[str]:
    """The names of a service's containers on the VM, sorted."""
    argv = containers_argv(target.env.project, service, running_only=running_only)
    result = target.run(argv, f"listing {service} containers", timeout=60)
    return sorted(line.strip() for line in result.stdout.splitlines() if line.strip())


def start_data_services(target: Target, release: str) -> None:
    """The database and object store, started on a first deploy (never recreated)."""
    argv = start_data_argv(target.project(release), WAIT_TIMEOUT)
    target.run(argv, "starting the database and object store", timeout=WAIT_TIMEOUT + 60)


def start_beside(target: Target, release: str, running: list[str]) -> str:
    """Start one app container of the release beside `running`; returns its name."""
    argv = start_app_argv(target.project(release), len(running) + 1)
    target.run(argv, "starting the new app container", timeout=WAIT_TIMEOUT)
    new = sorted(set(containers(target, APP_SERVICE)) - set(running))
    if len(new) != 1:
        raise CommandFailedError(f"expected one new app container, found {new or 'none'}")
    return new[0]


def route_to(target: Target, release: str, container: str) -> None:
    """Install the release's nginx config with `container` as upstream, then reload nginx
    gracefully (or start nginx when it is not running yet)."""
    project = target.project(release)
    target.run(
        nginx_config_argv(target.layout, release, upstream_conf(container)),
        "writing the nginx config",
    )
    if not containers(target, EDGE_SERVICE, running_only=True):
        target.run(
            start_edge_argv(project, WAIT_TIMEOUT), "starting nginx", timeout=WAIT_TIMEOUT + 60
        )
        return
    target.run(nginx_test_argv(project), "nginx -t (the new config)")
    target.run(nginx_reload_argv(project), "reloading nginx")


def drain_and_stop(target: Target, old: list[str]) -> None:
    """Let in-flight requests to the old containers finish, then stop and remove them."""
    if not old:
        return
    time.sleep(DRAIN_SECONDS)
    for container in old:
        target.run(stop_argv(container), f"stopping {container}", timeout=120)
