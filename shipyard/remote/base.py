"""What every runner offers, and the result of one command."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from shipyard.errors import CommandFailedError
from shipyard.masking import mask

_TAIL_LINES = 15


@dataclass(frozen=True)
class CommandResult:
    """How a command ended and what it printed (when captured)."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0

    def raise_for_status(self, what: str) -> CommandResult:
        """Raise CommandFailedError naming `what`, with the tail of stderr, unless it exited 0."""
        if self.ok:
            return self
        tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-_TAIL_LINES:])
        detail = f": {tail}" if tail else ""
        raise CommandFailedError(mask(f"{what} failed (exit {self.exit_code}){detail}"))


class Runner(Protocol):
    """Runs argv lists somewhere: this machine or a VM."""

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        capture: bool = True,
        timeout: float | None = None,
        stdin: bytes | None = None,
        stdout_to_stderr: bool = False,
    ) -> CommandResult:
        """Run `argv`; never raises for a non-zero exit (see CommandResult.raise_for_status).

        With capture=False and stdout_to_stderr, the command's stdout goes to our stderr: for
        progress output (e.g. image builds) that must not mix with a task's `--json` result.
        """
        ...

    def stream_out(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> AbstractContextManager[BinaryIO]:
        """Run `argv` and hand its stdout over as a binary stream, never held whole.

        The stream's `read` raises CommandFailedError (with the tail of stderr) when it
        reaches the end of a command that exited non-zero, so a consumer such as a
        multipart upload fails instead of completing a truncated object. Leaving the
        context early stops the command.
        """
        ...

    def stream_in(
        self,
        argv: Sequence[str],
        source: BinaryIO | Iterable[bytes],
        *,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run `argv` with `source` streamed to its stdin chunk by chunk (e.g. pg_restore,
        docker load); never raises for a non-zero exit."""
        ...
