"""The health gate: a new app container must be running, not `unhealthy` by its Docker
health check, and answer on /health and /ready (database and object store reachable)
before it gets traffic.

The gate probes /health and /ready itself, twice a second, rather than waiting for Docker
to report `healthy`: Docker runs the first health check only one interval (5 s) after the
start, so waiting for its verdict kept traffic off a ready container for seconds. Docker's
`unhealthy` still fails the gate at once.
"""

from __future__ import annotations

import time

from shipyard.deploy.plan import gate_probe_argv, logs_argv
from shipyard.vm.target import Target

POLL_SECONDS = 0.5


class GateFailedError(Exception):
    """The container did not pass the gate; the message says which part and why."""


def wait_ready(target: Target, container: str, timeout: float) -> float:
    """Wait until `container` is running and answers on /health and /ready; returns the
    seconds it took.

    Raises GateFailedError when it exits, turns unhealthy or is not ready within `timeout`.
    """
    started = time.monotonic()
    deadline = started + timeout
    state, why = "unknown", ""
    while time.monotonic() < deadline:
        probe = target.probe(gate_probe_argv(container), timeout=30)
        state = (probe.stdout.strip().splitlines() or ["unknown"])[0].strip()
        if state.startswith(("exited", "dead")) or state.endswith("unhealthy"):
            raise GateFailedError(f"{container} is {state}")
        if state.startswith("running") and probe.ok:
            return time.monotonic() - started
        why = (probe.stderr.strip().splitlines() or [""])[-1]
        time.sleep(POLL_SECONDS)
    detail = why if state.startswith("running") and why else f"it is {state}"
    raise GateFailedError(f"{container} was not ready within {timeout:.0f} s ({detail})")


def last_logs(target: Target, container: str, lines: int = 20) -> str:
    """The container's last log lines (stdout and stderr), for the failure report."""
    result = target.probe(logs_argv(container, lines), timeout=30)
    text = (result.stdout + result.stderr).strip()
    return "\n".join(text.splitlines()[-lines:])
