"""The transport interface: what a target (this machine or a VM) can do, and the result of
one command. Callers hold a `Runner` and never ask which kind it is."""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO, Self

from shipyard.errors import CommandFailedError
from shipyard.masking import mask

_TAIL_LINES = 15
_WRAPPERS = frozenset({"stdbuf", "nice", "ionice", "env"})
PUT_SCRIPT = (
    'mkdir -p "$(dirname "$1")" && tmp="$(dirname "$1")/.$(basename "$1").tmp" && '
    'cat > "$tmp" && chmod "$2" "$tmp" && mv -f "$tmp" "$1"'
)
"""Shell for `Runner.put`: the file's directory made, then a temporary file beside it filled
from stdin, given its mode and renamed over the file (readers see the old or the new one)."""


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


def describe(argv: Sequence[str]) -> str:
    """A short name for a command line in messages: `pg_dump (in db)` for a compose exec
    (wrappers such as stdbuf are looked through)."""
    parts = list(argv)
    if "exec" in parts:
        rest = [part for part in parts[parts.index("exec") + 1 :] if not part.startswith("-")]
        programs = [part for part in rest[1:] if part not in _WRAPPERS]
        if programs:
            return f"{programs[0]} (in {rest[0]})"
    return parts[0] if parts else "command"


def iter_chunks(source: BinaryIO | Iterable[bytes], size: int) -> Iterator[bytes]:
    """A binary file (read `size` bytes at a time) or an iterable of bytes, as non-empty
    chunks."""
    read = getattr(source, "read", None)
    if read is None:
        yield from (chunk for chunk in source if chunk)
        return
    yield from iter(lambda: read(size), b"")


def put_argv(path: PurePosixPath | str, mode: int) -> list[str]:
    """The command `Runner.put` runs on the target (content on its stdin)."""
    return ["sh", "-c", PUT_SCRIPT, "sh", posixpath.normpath(str(path)), f"{mode:04o}"]


class Runner(ABC):
    """A target to run argv lists on, this machine (LocalRunner) or a VM (SSHRunner):
    run, stream stdout out or stdin in, put a file, forward a port either way, close.

    Use it in a `with` block (or call `close`) to release its connection, if it has one.
    """

    @abstractmethod
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

    @abstractmethod
    def stream_out(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> AbstractContextManager[BinaryIO]:
        """Run `argv` and hand its stdout over as a binary stream, never held whole.

        The stream's `read` raises CommandFailedError (with the tail of stderr) when it
        reaches the end of a command that exited non-zero, so a consumer such as a
        multipart upload fails instead of completing a truncated object. Leaving the
        context early stops the command.
        """

    @abstractmethod
    def stream_in(
        self,
        argv: Sequence[str],
        source: BinaryIO | Iterable[bytes],
        *,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run `argv` with `source` streamed to its stdin chunk by chunk (e.g. pg_restore,
        docker load); never raises for a non-zero exit. An error raised by `source` stops
        the command and propagates."""

    @abstractmethod
    def forward_local(
        self, remote_port: int, remote_host: str = "127.0.0.1"
    ) -> AbstractContextManager[int]:
        """For the block, a port of our 127.0.0.1 that reaches `remote_host`:`remote_port`
        as the target sees it (local -> remote); yields our port."""

    @abstractmethod
    def forward_remote(self, remote_port: int, local_port: int) -> AbstractContextManager[None]:
        """For the block, the target's 127.0.0.1:`remote_port` reaches our
        127.0.0.1:`local_port` (remote -> local); CommandFailedError when it fails."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection, if any (a later command opens a new one)."""

    def put(self, content: bytes, path: PurePosixPath | str, *, mode: int = 0o644) -> str:
        """Write `content` to `path` on the target atomically (directory made, temporary
        file renamed into place) with `mode`; returns the path. CommandFailedError naming
        the file when it cannot be written."""
        result = self.stream_in(put_argv(path, mode), [content])
        result.raise_for_status(f"writing {path}")
        return str(path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
