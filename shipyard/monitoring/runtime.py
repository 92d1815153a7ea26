"""The running monitoring profile, reached through a Runner (this machine, or the VM over
SSH): its containers by compose labels, Prometheus's API through `docker exec ... wget`
inside its own container (no port needs to be reachable), a test alert through `amtool`
inside Alertmanager's container, and the ports published on the host's loopback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shipyard.errors import CommandFailedError
from shipyard.monitoring.status import MonitoringStatus, parse_status
from shipyard.remote import Runner

TEST_ALERT = "ShipyardTestAlert"
PROMETHEUS_URL = "http://127.0.0.1:9090"
ALERTMANAGER_URL = "http://127.0.0.1:9093"


def find_container_argv(project: str, service: str) -> list[str]:
    """`docker ps` for the running container of a compose service."""
    return [
        "docker", "ps", "--quiet",
        "--filter", f"label=com.docker.compose.project={project}",
        "--filter", f"label=com.docker.compose.service={service}",
    ]  # fmt: skip


def container_id(runner: Runner, project: str, service: str) -> str:
    """The id of `service`'s running container, or a CommandFailedError that says how to
    start the profile."""
    result = runner.run(find_container_argv(project, service), timeout=30)
    ids = result.raise_for_status(f"docker ps for {service}").stdout.split()
    if not ids:
        raise CommandFailedError(
            f"no running {service} container in project {project}",
            hint="start the monitoring profile: `inv monitoring.up`",
        )
    return ids[0]


def published_port(runner: Runner, container: str, port: int) -> int:
    """The host port (on 127.0.0.1) a container port is published at."""
    result = runner.run(["docker", "port", container, f"{port}/tcp"], timeout=30)
    text = result.raise_for_status(f"docker port {container}").stdout.split()
    for address in text:
        host, _, number = address.rpartition(":")
        if host in ("127.0.0.1", "[::1]") and number.isdigit():
            return int(number)
    raise CommandFailedError(f"port {port} of {container} is not published on 127.0.0.1")


def prometheus_get(runner: Runner, container: str, path: str) -> dict[str, Any]:
    """GET `path` from Prometheus inside its container; the JSON answer."""
    argv = ["docker", "exec", container, "wget", "-q", "-O", "-", f"{PROMETHEUS_URL}{path}"]
    result = runner.run(argv, timeout=30).raise_for_status(f"Prometheus API {path}")
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def read_status(runner: Runner, project: str) -> MonitoringStatus:
    """Targets and alerts as the profile's Prometheus sees them."""
    prometheus = container_id(runner, project, "prometheus")
    return parse_status(
        prometheus_get(runner, prometheus, "/api/v1/targets"),
        prometheus_get(runner, prometheus, "/api/v1/alerts"),
    )


def amtool_alert_argv(
    container: str, env: str, severity: str, now: datetime, minutes: int = 5
) -> list[str]:
    """`amtool alert add` inside Alertmanager's container: a test alert that takes the
    real route to the receivers and resolves by itself after `minutes`."""
    end = (now + timedelta(minutes=minutes)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        "docker", "exec", container, "amtool", "alert", "add",
        f"alertname={TEST_ALERT}", f"severity={severity}", f"env={env}",
        f"--annotation=summary=Test alert from `inv alerts.test` for {env}",
        f"--annotation=description=A {severity} test alert: if you read this, the route"
        f" works. It resolves by itself after {minutes} minutes.",
        "--annotation=runbook_url=docs/runbooks/monitoring.md#alertmanagernotificationsfailing",
        f"--end={end}",
        f"--alertmanager.url={ALERTMANAGER_URL}",
    ]  # fmt: skip


def send_test_alert(runner: Runner, project: str, env: str, severity: str) -> None:
    """Send a test alert through the profile's Alertmanager."""
    alertmanager = container_id(runner, project, "alertmanager")
    argv = amtool_alert_argv(alertmanager, env, severity, datetime.now(UTC))
    runner.run(argv, timeout=30).raise_for_status("amtool alert add")
