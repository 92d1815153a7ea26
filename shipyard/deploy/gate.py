"""The health gate: a new app container must be `healthy` (its Docker health check) and
answer 200 on /ready (database and object store reachable) before it gets traffic."""

from __future__ import annotations

import time

from shipyard.deploy.context import Target
from shipyard.deploy.plan import health_argv, logs_argv, ready_argv

POLL_SECONDS = 1.0


class GateFailedError(Exception):
    """The container did not pass the gate; the message says which part and why."""


def wait_ready(target: Target, container: str, timeout: float) -> float:
    """Wait until `container` is healthy and ready; returns the seconds it took.

    Raises GateFailedError when it exits, turns unhealthy or is not ready within `timeout`.
    """
    started = time.monotonic()
    deadline = started + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        state = target.probe(health_argv(container), timeout=30).stdout.strip()
        if state.startswith(("exited", "dead")) or state.endswith("unhealthy"):
            raise GateFailedError(f"{container} is {state}")
        if state == "running healthy" and target.probe(ready_argv(container), timeout=30).ok:
            return time.monotonic() - started
        time.sleep(POLL_SECONDS)
    detail = "its /ready did not answer 200" if state == "running healthy" else f"it is {state}"
    raise GateFailedError(f"{container} was not ready within {timeout:.0f} s ({detail})")


def last_logs(target: Target, container: str, lines: int = 20) -> str:
    """The container's last log lines (stdout and stderr), for the failure report."""
    result = target.probe(logs_argv(container, lines), timeout=30)
    text = (result.stdout + result.stderr).strip()
    return "\n".join(text.splitlines()[-lines:])
