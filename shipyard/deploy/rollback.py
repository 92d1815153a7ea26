"""Automatic rollback: traffic back to the previous release's container (still running),
the new container stopped after its last log lines are kept for the report."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard import console
from shipyard.deploy.gate import last_logs
from shipyard.deploy.plan import remove_release_argv, stop_argv, stop_edge_argv
from shipyard.deploy.switch import drain, route_to
from shipyard.vm.target import Target


@dataclass
class Attempt:
    """What a deploy had changed so far, so a failure can undo exactly that."""

    release: str
    previous: str | None
    old_containers: list[str]
    new_container: str | None = None
    routed: bool = False
    keep_release: bool = False
    """True when the release existed before (`inv rollback` to it): never removed."""


def revert(target: Target, attempt: Attempt) -> tuple[str, str]:
    """Undo `attempt`; returns (what now serves, the new container's last log lines)."""
    logs = last_logs(target, attempt.new_container) if attempt.new_container else ""
    serving: str
    if attempt.previous and attempt.old_containers:
        if attempt.routed:
            reload = route_to(target, attempt.previous, attempt.old_containers[0])
            console.done(f"nginx points at {attempt.old_containers[0]} again")
            drain(target, reload, [attempt.new_container] if attempt.new_container else [])
        serving = f"release {attempt.previous} is still serving"
    else:
        if attempt.routed:
            target.probe(stop_edge_argv(target.project(attempt.release)), timeout=120)
        why = "this was the first deploy" if attempt.previous is None else "no old app was running"
        serving = f"nothing is serving: {why}, and the new app is stopped"
    if attempt.new_container:
        target.probe(stop_argv(attempt.new_container), timeout=120)
        console.done(f"stopped {attempt.new_container}")
    if not attempt.keep_release:
        target.probe(remove_release_argv(target.layout, attempt.release), timeout=60)
    return serving, logs
