"""Run commands on this machine."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import IO, BinaryIO

from shipyard.errors import CommandFailedError, PrerequisiteError
from shipyard.remote.base import CommandResult, Runner, describe, iter_chunks

STREAM_CHUNK = 1024 * 1024
_STDERR_KEEP = 64 * 1024


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_STDERR_FD = 2  # our own stderr, whatever Python-level object stands in for sys.stderr


class LocalRunner(Runner):
    """Runs argv lists with subprocess: no shell, no standard input unless given. The
    target is this machine, so a port here is already a port there: forwarding is a
    no-op for loopback addresses."""

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
        stdout_to_stderr: bool = False,
    ) -> CommandResult:
        """Run `argv` here; output is captured, or streamed to the terminal with capture=False."""
        try:
            completed = subprocess.run(
                list(argv),
                cwd=self.cwd,
                env=_merged(env),
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if capture else (_STDERR_FD if stdout_to_stderr else None),
                stderr=subprocess.PIPE if capture else None,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise _not_found(argv) from None
        except subprocess.TimeoutExpired:
            raise CommandFailedError(f"{argv[0]} did not finish within {timeout:.0f} s") from None
        decode = _decode if capture else (lambda _: "")
        return CommandResult(
            argv=tuple(argv),
            exit_code=completed.returncode,
            stdout=decode(completed.stdout),
            stderr=decode(completed.stderr),
        )

    @contextmanager
    def stream_out(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> Iterator[BinaryIO]:
        """Run `argv` and hand its stdout over as a binary stream (see Runner.stream_out)."""
        process = self._popen(argv, env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        stderr = _Collector(process.stderr)
        stream = _CheckedStream(process, stderr, argv)
        try:
            yield stream  # type: ignore[misc]
        finally:
            _stop(process)
            stderr.join()

    def stream_in(
        self,
        argv: Sequence[str],
        source: BinaryIO | Iterable[bytes],
        *,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run `argv` with `source` streamed to its stdin chunk by chunk; never raises for a
        non-zero exit. An error raised by `source` stops the command and propagates."""
        process = self._popen(argv, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        stdout, stderr = _Collector(process.stdout), _Collector(process.stderr)
        assert process.stdin is not None
        try:
            for chunk in iter_chunks(source, STREAM_CHUNK):
                try:
                    process.stdin.write(chunk)
                except BrokenPipeError:  # the command stopped reading: its exit code says why
                    break
            with suppress(BrokenPipeError):
                process.stdin.close()
            exit_code = process.wait()
        except BaseException:
            _stop(process)
            raise
        finally:
            stdout.join()
            stderr.join()
        return CommandResult(tuple(argv), exit_code, stdout.text(), stderr.text())

    @contextmanager
    def forward_local(self, remote_port: int, remote_host: str = "127.0.0.1") -> Iterator[int]:
        """`remote_port` itself: a loopback port of this machine needs no tunnel."""
        _require_loopback(remote_host)
        yield remote_port

    @contextmanager
    def forward_remote(self, remote_port: int, local_port: int) -> Iterator[None]:
        """Nothing to do when both ports are the same port of this machine."""
        if remote_port != local_port:
            raise ValueError(
                f"port {remote_port} and port {local_port} are both on this machine; "
                "a local target cannot map one to the other"
            )
        yield

    def close(self) -> None:
        """Nothing to release: no connection is held."""

    def _popen(
        self, argv: Sequence[str], env: Mapping[str, str] | None, *, stdin: int, stdout: int
    ) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                list(argv),
                cwd=self.cwd,
                env=_merged(env),
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError:
            raise _not_found(argv) from None


class _CheckedStream(io.RawIOBase):
    """A command's stdout; `read` raises at EOF when the command exited non-zero."""

    def __init__(
        self, process: subprocess.Popen[bytes], stderr: _Collector, argv: Sequence[str]
    ) -> None:
        super().__init__()
        self._process = process
        self._stderr = stderr
        self._argv = tuple(argv)
        assert process.stdout is not None
        self._stdout = process.stdout

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stdout.read(size) if size and size > 0 else self._stdout.read()
        if not data:
            self._check_exit()
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _check_exit(self) -> None:
        exit_code = self._process.wait()
        if exit_code != 0:
            self._stderr.join()
            result = CommandResult(self._argv, exit_code, "", self._stderr.text())
            result.raise_for_status(describe(self._argv))


class _Collector:
    """Drains a pipe in a thread, keeping its last bytes (stderr of a streamed command)."""

    def __init__(self, pipe: IO[bytes] | None) -> None:
        self._data = bytearray()
        self._thread = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self._thread.start()

    def _drain(self, pipe: IO[bytes] | None) -> None:
        if pipe is None:
            return
        with pipe:
            for chunk in iter(lambda: pipe.read(65536), b""):
                self._data += chunk
                if len(self._data) > 2 * _STDERR_KEEP:
                    del self._data[:-_STDERR_KEEP]

    def join(self) -> None:
        self._thread.join(timeout=30)

    def text(self) -> str:
        return _decode(bytes(self._data))


def _require_loopback(host: str) -> None:
    if host not in _LOOPBACK:
        raise ValueError(f"{host}: a local target forwards only loopback addresses")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a streamed command that is still running; reap it either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with suppress(OSError):
                pipe.close()


def _merged(env: Mapping[str, str] | None) -> dict[str, str] | None:
    return {**os.environ, **env} if env else None


def _not_found(argv: Sequence[str]) -> PrerequisiteError:
    return PrerequisiteError(
        f"{argv[0]}: command not found", hint="run ./scripts/bootstrap to install it"
    )


def _decode(data: bytes | None) -> str:
    return data.decode("utf-8", errors="replace") if data else ""
