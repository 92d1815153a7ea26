"""The thin layer that runs docker, debootstrap and tar for shipyard.images.

The other modules here plan (argv lists, files, decisions) without running anything;
`Engine` executes their plans through a `shipyard.remote.Runner` (this machine by
default) and turns failures into ShipyardErrors that say what to do.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import CommandFailedError, PrerequisiteError
from shipyard.remote import CommandResult, LocalRunner, Runner

ENGINE_HINT = "start the Docker engine (`service docker start`, or ./scripts/bootstrap)"
COMPOSE_HINT = "install the Docker Compose v2 CLI plugin: ./scripts/bootstrap"
_TAIL_LINES = 15


def tail(text: str, lines: int = _TAIL_LINES) -> str:
    """The last lines of a command's output, for an error message."""
    return "\n".join(text.strip().splitlines()[-lines:])


PULL_TIMEOUT = 900.0
"""Seconds a `docker pull` of an upstream image may take before it counts as unavailable."""


@dataclass
class Engine:
    """Docker (and the tools around it) on one machine."""

    runner: Runner = field(default_factory=LocalRunner)

    def run(
        self,
        argv: Sequence[str],
        what: str,
        *,
        env: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run a command; CommandFailedError naming `what` unless it exits 0.

        With stream=True its output goes to the terminal as it comes (progress).
        """
        result = self.runner.run(argv, env=env, capture=not stream, timeout=timeout)
        return result.raise_for_status(what)

    def require_engine(self) -> str:
        """The engine's version; PrerequisiteError when the engine does not answer."""
        result = self.runner.run(
            ["docker", "version", "--format", "{{.Server.Version}}"], timeout=30
        )
        version = result.stdout.strip()
        if not result.ok or not version:
            reason = tail(result.stderr, 1) or "no answer"
            raise PrerequisiteError(
                f"the Docker engine is not running ({reason})", hint=ENGINE_HINT
            )
        return version

    def require_compose(self) -> str:
        """The Compose v2 plugin's version; PrerequisiteError when it is missing."""
        result = self.runner.run(["docker", "compose", "version", "--short"], timeout=30)
        if not result.ok:
            raise PrerequisiteError("`docker compose` (v2) is missing", hint=COMPOSE_HINT)
        return result.stdout.strip()

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """`docker image inspect` of a local image, or None when it is not here."""
        result = self.runner.run(["docker", "image", "inspect", ref], timeout=60)
        if not result.ok:
            return None
        data = json.loads(result.stdout or "[]")
        return data[0] if data else None

    def image_present(self, ref: str) -> bool:
        """True when the image is in the local engine."""
        return self.inspect_image(ref) is not None

    def image_labels(self, ref: str) -> dict[str, str] | None:
        """The labels of a local image ({} when none), or None when it is not here."""
        data = self.inspect_image(ref)
        if data is None:
            return None
        return dict((data.get("Config") or {}).get("Labels") or {})

    def image_size(self, ref: str) -> int | None:
        """Size in bytes of a local image, or None when it is not here."""
        data = self.inspect_image(ref)
        return None if data is None else int(data.get("Size") or 0)

    def try_pull(self, ref: str, *, timeout: float) -> bool:
        """True when `docker pull` fetches the image; False when no registry answers."""
        try:
            return self.runner.run(["docker", "pull", "--quiet", ref], timeout=timeout).ok
        except CommandFailedError:  # the runner's timeout
            return False


def pipe(producer: Sequence[str], consumer: Sequence[str], *, what: str) -> None:
    """Run `producer | consumer` on this machine; fail when either side fails.

    A stream (a rootfs tarball) too large to hold in memory, so not through a Runner.
    """
    try:
        first = subprocess.Popen(
            list(producer),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise PrerequisiteError(f"{producer[0]}: command not found") from None
    try:
        second = subprocess.run(
            list(consumer), stdin=first.stdout, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        first.kill()
        raise PrerequisiteError(f"{consumer[0]}: command not found") from None
    finally:
        if first.stdout:
            first.stdout.close()
    first_err = first.stderr.read().decode(errors="replace") if first.stderr else ""
    first.wait()
    if first.returncode != 0:
        raise CommandFailedError(
            f"{what}: {producer[0]} failed (exit {first.returncode}): {tail(first_err)}"
        )
    if second.returncode != 0:
        raise CommandFailedError(
            f"{what}: {consumer[0]} failed (exit {second.returncode}): "
            f"{tail(second.stderr + second.stdout)}"
        )
