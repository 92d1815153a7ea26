"""Command lines for the VM's shell and the byte streams of an SSH channel: stdin fed
chunk by chunk, stdout/stderr collected (tail kept) or echoed, stdout read as a stream."""

from __future__ import annotations

import io
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from typing import BinaryIO

import paramiko

from shipyard.errors import CommandFailedError
from shipyard.remote.base import CommandResult, describe, iter_chunks

CHUNK = 256 * 1024
_KEEP_CAPTURED = 64 * 1024 * 1024
"""Captured output beyond this keeps only its tail (logs of a runaway command)."""


def remote_command(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
) -> str:
    """The command line sent to the VM's shell: every word quoted, `env` set with `env`."""
    if not argv:
        raise ValueError("empty command")
    words = [shlex.quote(word) for word in argv]
    if env:
        assignments = [shlex.quote(f"{name}={value}") for name, value in sorted(env.items())]
        words = ["env", *assignments, *words]
    line = " ".join(words)
    return f"cd {shlex.quote(cwd)} && {line}" if cwd else line


WATCHDOG = (
    'exec 3<&0; "$@" 3<&- & c=$!; '
    '(cat <&3 >/dev/null 2>&1; kill -TERM "$c" 2>/dev/null) >/dev/null 2>&1 & '
    'exec 3<&-; wait "$c"'
)
"""Runs a command whose stdin is unused so that it is stopped when our side goes away:
sshd sends no signal when a channel without a terminal closes, but the watcher's read of
the channel's stdin ends, and it stops the command (timeouts, early exits, a killed client)."""


def watched(argv: Sequence[str]) -> list[str]:
    """`argv` under the watchdog: stopped when the SSH channel closes."""
    return ["sh", "-c", WATCHDOG, "sh", *argv]


def feed(channel: paramiko.Channel, source: BinaryIO | Iterable[bytes]) -> None:
    """Send `source` to the command's stdin, then end it; stop early when it exits."""
    for chunk in iter_chunks(source, CHUNK):
        if channel.exit_status_ready():  # it stopped reading: its exit code says why
            break
        try:
            channel.sendall(chunk)
        except OSError:
            break
    with suppress(OSError):
        channel.shutdown_write()


class Sink:
    """Collects a stream (keeping its tail when large) or copies it to a file as it comes."""

    def __init__(self, echo: BinaryIO | None) -> None:
        self._echo = echo
        self._data = bytearray()

    def write(self, chunk: bytes) -> None:
        """Take one chunk of the stream."""
        if self._echo is not None:
            self._echo.write(chunk)
            self._echo.flush()
            return
        self._data += chunk
        if len(self._data) > _KEEP_CAPTURED:
            del self._data[: len(self._data) - _KEEP_CAPTURED]

    def text(self) -> str:
        """What was collected, decoded (invalid UTF-8 replaced)."""
        return bytes(self._data).decode("utf-8", errors="replace")


def pump(receive: Callable[[int], bytes], sink: Sink) -> None:
    """Copy a channel's stream (`recv` or `recv_stderr`) into `sink` until it ends."""
    with suppress(OSError, EOFError):
        for chunk in iter(lambda: receive(CHUNK), b""):
            sink.write(chunk)


def start_readers(channel: paramiko.Channel, out: Sink, err: Sink) -> list[threading.Thread]:
    """Threads that drain the channel's stdout into `out` and its stderr into `err`."""
    readers = [
        threading.Thread(target=pump, args=(channel.recv, out), daemon=True),
        threading.Thread(target=pump, args=(channel.recv_stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    return readers


def wait(channel: paramiko.Channel, timeout: float | None, argv: Sequence[str]) -> int:
    """The command's exit code; CommandFailedError (channel closed) after `timeout` s."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not channel.exit_status_ready():
        if deadline is not None and time.monotonic() > deadline:
            channel.close()
            raise CommandFailedError(f"{describe(argv)} did not finish within {timeout:.0f} s")
        time.sleep(0.02)
    return int(channel.recv_exit_status())


class ChannelStream(io.RawIOBase):
    """A remote command's stdout; `read` raises at EOF when the command exited non-zero."""

    def __init__(
        self,
        channel: paramiko.Channel,
        stderr: Sink,
        argv: Sequence[str],
        reader: threading.Thread,
    ) -> None:
        super().__init__()
        self._channel = channel
        self._stderr = stderr
        self._argv = tuple(argv)
        self._reader = reader

    def readable(self) -> bool:
        """A stream to read from."""
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left for a negative size); b"" at the end."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        data: bytes = self._channel.recv(size)
        if not data:
            exit_code = self._channel.recv_exit_status()
            self._reader.join(timeout=10)
            CommandResult(self._argv, exit_code, "", self._stderr.text()).raise_for_status(
                describe(self._argv)
            )
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into `buffer`; the number of bytes read."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
