"""Prerequisites of a local stack: the Docker CLI, a running engine, Compose v2."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.errors import PrerequisiteError
from shipyard.remote import Runner

MIN_COMPOSE = (2, 20)


@dataclass(frozen=True)
class Probe:
    """One prerequisite: how to ask for it and what to do when it is missing."""

    name: str
    argv: tuple[str, ...]
    fix: str


PROBES = (
    Probe("Docker CLI", ("docker", "--version"), "install Docker: ./scripts/bootstrap"),
    Probe(
        "Docker engine",
        ("docker", "info", "--format", "{{.ServerVersion}}"),
        "start it: ./scripts/bootstrap, or `service docker start`",
    ),
    Probe(
        "Docker Compose v2",
        ("docker", "compose", "version", "--short"),
        "install the Compose v2 CLI plugin: ./scripts/bootstrap",
    ),
)


def compose_version_ok(text: str) -> bool:
    """True when `docker compose version --short` names a version >= MIN_COMPOSE."""
    parts = text.strip().lstrip("v").split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return False
    return (major, minor) >= MIN_COMPOSE


def missing_prerequisites(runner: Runner) -> list[str]:
    """One line per missing prerequisite, each naming the fix; empty when all is there."""
    missing: list[str] = []
    for probe in PROBES:
        try:
            result = runner.run(probe.argv, timeout=30)
        except PrerequisiteError:
            missing.append(f"{probe.name}: not installed; {probe.fix}")
            if probe.name == "Docker CLI":
                break
            continue
        output = (result.stdout + result.stderr).strip()
        if not result.ok:
            reason = output.splitlines()[-1] if output else f"exit {result.exit_code}"
            if "permission denied" in output.lower():
                fix = "add your user to the `docker` group (then log in again), or run as root"
            else:
                fix = probe.fix
            missing.append(f"{probe.name}: {reason}; {fix}")
        elif probe.name == "Docker Compose v2" and not compose_version_ok(result.stdout):
            missing.append(
                f"{probe.name}: version {result.stdout.strip()} is older than "
                f"{'.'.join(map(str, MIN_COMPOSE))}; {probe.fix}"
            )
    return missing


def require_prerequisites(runner: Runner) -> None:
    """Raise a PrerequisiteError naming every missing prerequisite and its fix."""
    missing = missing_prerequisites(runner)
    if missing:
        raise PrerequisiteError("missing prerequisites: " + " | ".join(missing))
