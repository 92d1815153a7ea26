"""Run commands on this machine."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from shipyard.errors import CommandFailedError, PrerequisiteError
from shipyard.remote.base import CommandResult


class LocalRunner:
    """Runs argv lists with subprocess: no shell, no standard input unless given."""

    def __init__(self, cwd: os.PathLike[str] | str | None = None) -> None:
        self.cwd = cwd

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        capture: bool = True,
        timeout: float | None = None,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """Run `argv` here; output is captured, or streamed to the terminal with capture=False."""
        merged = {**os.environ, **env} if env else None
        try:
            completed = subprocess.run(
                list(argv),
                cwd=self.cwd,
                env=merged,
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=capture,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise PrerequisiteError(
                f"{argv[0]}: command not found", hint="run ./scripts/bootstrap to install it"
            ) from None
        except subprocess.TimeoutExpired:
            raise CommandFailedError(f"{argv[0]} did not finish within {timeout:.0f} s") from None
        decode = _decode if capture else (lambda _: "")
        return CommandResult(
            argv=tuple(argv),
            exit_code=completed.returncode,
            stdout=decode(completed.stdout),
            stderr=decode(completed.stderr),
        )


def _decode(data: bytes | None) -> str:
    return data.decode("utf-8", errors="replace") if data else ""
