"""Run commands on a VM over SSH (Fabric/paramiko), with host keys verified, never trusted.

The connection comes from Fabric (host, user, port and key from invoke.yaml, or from a
`~/.ssh/config` alias); its SSH client is replaced by one that knows only the
environment's own known_hosts file and rejects any other key. Command lines are built by
`remote_command` (pure: argv and environment to one shell-quoted string) and executed in
one place, `SSHRunner._open_channel`; nothing reads standard input unless it is given.

Never pass a secret through `env`: over SSH it becomes part of the remote command line.
Secrets reach the VM in files (the release's `.env`, mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import io
import shlex
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import paramiko
from fabric import Connection

from shipyard.errors import CommandFailedError, ConfigError
from shipyard.remote.base import CommandResult
from shipyard.remote.local import describe

CHUNK = 256 * 1024
_KEEP_CAPTURED = 64 * 1024 * 1024
"""Captured output beyond this keeps only its tail (logs of a runaway command)."""


@dataclass(frozen=True)
class SSHTarget:
    """Where and how to log in: an address (or ~/.ssh/config alias) and the trust anchors."""

    host: str
    known_hosts: Path
    user: str | None = None
    port: int | None = None
    key_file: Path | None = None
    connect_timeout: float = 10.0

    def describe(self) -> str:
        """`user@host:port` as given (unset parts come from ~/.ssh/config)."""
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.host}{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """The OpenSSH SHA256 fingerprint of a public key, e.g. `SHA256:g1Xn...`."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH (and paramiko) name a host in known_hosts: `host` or `[host]:port`."""
    return host if port == 22 else f"[{host}]:{port}"


def known_hosts_line(host: str, port: int, public_key: str) -> str:
    """One known_hosts line for a host's public key (`TYPE BASE64 [comment]`)."""
    key_type, key_data = public_key.split()[:2]
    return f"{known_hosts_name(host, port)} {key_type} {key_data}\n"


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


class UnknownHostKeyError(paramiko.SSHException):
    """The server offered a key that the environment's known_hosts does not list."""

    def __init__(self, hostname: str, key: paramiko.PKey, known_hosts: Path) -> None:
        super().__init__(f"unknown host key for {hostname}")
        self.hostname = hostname
        self.key = key
        self.known_hosts = known_hosts


class RejectUnknownHosts(paramiko.MissingHostKeyPolicy):
    """Replaces Fabric's auto-add policy: an unknown host is an error naming its key."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey):
        """Refuse the connection (never add the key)."""
        raise UnknownHostKeyError(hostname, key, self.known_hosts)


def strict_client(known_hosts: Path) -> paramiko.SSHClient:
    """An SSH client that trusts exactly the keys in `known_hosts` and rejects others."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(RejectUnknownHosts(known_hosts))
    return client


class SSHRunner:
    """Runs argv lists on a VM over one SSH connection (opened on first use)."""

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------------------

    def connect(self) -> Connection:
        """The open Fabric connection; ConfigError (exit 2) when it cannot be made."""
        with self._lock:
            if self._connection is None:
                self._connection = self._open()
            return self._connection

    def close(self) -> None:
        """Close the connection (a later command opens a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> SSHRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> Connection:
        target = self.target
        if not target.known_hosts.is_file():
            raise ConfigError(
                f"no known_hosts file for {target.host}: {target.known_hosts} is missing",
                hint="add the VM's host key there after checking its fingerprint out of band "
                "(`inv sandbox.up` records the sandbox's own)",
            )
        connect_kwargs: dict[str, object] = {"banner_timeout": target.connect_timeout}
        if target.key_file is not None:
            if not target.key_file.is_file():
                raise ConfigError(f"SSH key {target.key_file} does not exist")
            connect_kwargs.update(
                key_filename=str(target.key_file), look_for_keys=False, allow_agent=False
            )
        connection = Connection(
            target.host,
            user=target.user,
            port=target.port,
            connect_timeout=target.connect_timeout,
            connect_kwargs=connect_kwargs,
        )
        connection.client = strict_client(target.known_hosts)
        try:
            connection.open()
        except UnknownHostKeyError as exc:
            raise ConfigError(
                f"unknown host key for {exc.hostname}: {fingerprint(exc.key)} "
                f"({exc.key.get_name()}) is not in {exc.known_hosts}",
                hint="verify the fingerprint out of band, then add it to that file",
            ) from None
        except paramiko.BadHostKeyException as exc:
            raise ConfigError(
                f"host key of {exc.hostname} CHANGED: it offers {fingerprint(exc.key)}, "
                f"{target.known_hosts} has {fingerprint(exc.expected_key)}",
                hint="if the VM was rebuilt, verify the new key out of band and replace the "
                "entry; otherwise do not connect",
            ) from None
        except paramiko.AuthenticationException:
            raise ConfigError(
                f"ssh {self._where(connection)}: the key was refused",
                hint="check the user and key (invoke.yaml ssh_key, or ~/.ssh/config)",
            ) from None
        except TimeoutError:
            raise ConfigError(
                f"ssh {self._where(connection)}: no answer within {target.connect_timeout:.0f} s",
                hint="check the host and port, and that the VM is up",
            ) from None
        except (OSError, paramiko.SSHException) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"ssh {self._where(connection)}: cannot connect ({reason})",
                hint="check the host and port, and that the VM is up",
            ) from None
        return connection

    @staticmethod
    def _where(connection: Connection) -> str:
        return f"{connection.user}@{connection.host}:{connection.port}"

    @contextmanager
    def forward_remote(self, remote_port: int, local_port: int) -> Iterator[None]:
        """Listen on the VM's 127.0.0.1:`remote_port`, tunnelled to our 127.0.0.1:`local_port`."""
        with self.connect().forward_remote(
            remote_port=remote_port,
            remote_host="127.0.0.1",
            local_port=local_port,
            local_host="127.0.0.1",
        ):
            yield

    @contextmanager
    def forward_local(self, remote_port: int, remote_host: str = "127.0.0.1") -> Iterator[int]:
        """Listen on a free port of our 127.0.0.1, tunnelled (SSH `direct-tcpip`) to
        `remote_host`:`remote_port` as seen from the VM; yields our port."""
        listener = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()
        accepter = threading.Thread(
            target=self._accept_forwarded,
            args=(listener, (remote_host, remote_port), stop),
            daemon=True,
        )
        accepter.start()
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
            listener.close()
            accepter.join(timeout=5)

    def _accept_forwarded(
        self, listener: socket.socket, destination: tuple[str, int], stop: threading.Event
    ) -> None:
        """Accept local connections and join each to a new direct-tcpip channel."""
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, origin = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                transport = self.connect().client.get_transport()
                assert transport is not None
                channel = transport.open_channel("direct-tcpip", destination, origin)
            except (OSError, paramiko.SSHException):
                client.close()
                continue
            threading.Thread(target=_splice, args=(client, channel), daemon=True).start()

    # -- the one place commands are executed ----------------------------------------------

    def _open_channel(
        self, argv: Sequence[str], env: Mapping[str, str] | None, *, watch: bool = True
    ) -> paramiko.Channel:
        transport = self.connect().client.get_transport()
        if transport is None or not transport.is_active():
            self.close()
            transport = self.connect().client.get_transport()
        assert transport is not None
        channel = transport.open_session(timeout=self.target.connect_timeout)
        channel.exec_command(remote_command(watched(argv) if watch else argv, env=env))
        return channel

    # -- Runner protocol ------------------------------------------------------------------

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
        """Run `argv` on the VM; output captured, or copied to our stdout/stderr as it comes."""
        shown = sys.stderr.buffer if stdout_to_stderr else sys.stdout.buffer
        out = _Sink(None if capture else shown)
        err = _Sink(None if capture else sys.stderr.buffer)
        source = None if stdin is None else [stdin]
        return self._exchange(argv, env, source, out, err, timeout)

    @contextmanager
    def stream_out(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> Iterator[BinaryIO]:
        """Run `argv` on the VM and hand its stdout over as a stream (see Runner.stream_out)."""
        channel = self._open_channel(argv, env)
        err = _Sink(None)
        reader = threading.Thread(target=_pump, args=(channel.recv_stderr, err), daemon=True)
        reader.start()
        try:
            yield _ChannelStream(channel, err, argv, reader)  # type: ignore[misc]
        finally:
            channel.close()
            reader.join(timeout=10)

    def stream_in(
        self,
        argv: Sequence[str],
        source: BinaryIO | Iterable[bytes],
        *,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run `argv` on the VM with `source` streamed to its stdin; never raises for a
        non-zero exit. An error raised by `source` stops the command and propagates."""
        return self._exchange(argv, env, source, _Sink(None), _Sink(None), None)

    def _exchange(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        source: BinaryIO | Iterable[bytes] | None,
        out: _Sink,
        err: _Sink,
        timeout: float | None,
    ) -> CommandResult:
        """Run `argv`, feed it `source` (None: under the watchdog, stdin unused), collect."""
        channel = self._open_channel(argv, env, watch=source is None)
        readers = _start_readers(channel, out, err)
        try:
            if source is not None:
                _feed(channel, source)
            exit_code = _wait(channel, timeout, argv)
        finally:
            for reader in readers:  # output sent before the exit status is still buffered
                reader.join(timeout=30)
            channel.close()
        return CommandResult(tuple(argv), exit_code, out.text(), err.text())


def _splice(client: socket.socket, channel: paramiko.Channel) -> None:
    """Copy bytes both ways between a local socket and an SSH channel until both ends close."""

    def copy(receive, send, done) -> None:  # type: ignore[no-untyped-def]
        with suppress(OSError, EOFError):
            for chunk in iter(lambda: receive(CHUNK), b""):
                send(chunk)
        with suppress(OSError):
            done()

    upstream = threading.Thread(
        target=copy, args=(client.recv, channel.sendall, channel.shutdown_write), daemon=True
    )
    upstream.start()
    copy(channel.recv, client.sendall, lambda: client.shutdown(socket.SHUT_WR))
    upstream.join(timeout=30)
    channel.close()
    client.close()


def _feed(channel: paramiko.Channel, source: BinaryIO | Iterable[bytes]) -> None:
    """Send `source` to the command's stdin, then end it; stop early when it exits."""
    for chunk in iter_chunks(source):
        if channel.exit_status_ready():  # it stopped reading: its exit code says why
            break
        try:
            channel.sendall(chunk)
        except OSError:
            break
    with suppress(OSError):
        channel.shutdown_write()


def iter_chunks(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """A binary file or an iterable of bytes, as non-empty chunks."""
    read = getattr(source, "read", None)
    if read is None:
        yield from (chunk for chunk in source if chunk)  # type: ignore[union-attr]
        return
    yield from iter(lambda: read(CHUNK), b"")


class _Sink:
    """Collects a stream (keeping its tail when large) or copies it to a file as it comes."""

    def __init__(self, echo: BinaryIO | None) -> None:
        self._echo = echo
        self._data = bytearray()

    def write(self, chunk: bytes) -> None:
        if self._echo is not None:
            self._echo.write(chunk)
            self._echo.flush()
            return
        self._data += chunk
        if len(self._data) > _KEEP_CAPTURED:
            del self._data[: len(self._data) - _KEEP_CAPTURED]

    def text(self) -> str:
        return bytes(self._data).decode("utf-8", errors="replace")


def _pump(receive, sink: _Sink) -> None:  # type: ignore[no-untyped-def]
    with suppress(OSError, EOFError):
        for chunk in iter(lambda: receive(CHUNK), b""):
            sink.write(chunk)


def _start_readers(channel: paramiko.Channel, out: _Sink, err: _Sink) -> list[threading.Thread]:
    readers = [
        threading.Thread(target=_pump, args=(channel.recv, out), daemon=True),
        threading.Thread(target=_pump, args=(channel.recv_stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    return readers


def _wait(channel: paramiko.Channel, timeout: float | None, argv: Sequence[str]) -> int:
    deadline = None if timeout is None else time.monotonic() + timeout
    while not channel.exit_status_ready():
        if deadline is not None and time.monotonic() > deadline:
            channel.close()
            raise CommandFailedError(f"{describe(argv)} did not finish within {timeout:.0f} s")
        time.sleep(0.02)
    return channel.recv_exit_status()


class _ChannelStream(io.RawIOBase):
    """A remote command's stdout; `read` raises at EOF when the command exited non-zero."""

    def __init__(
        self,
        channel: paramiko.Channel,
        stderr: _Sink,
        argv: Sequence[str],
        reader: threading.Thread,
    ) -> None:
        super().__init__()
        self._channel = channel
        self._stderr = stderr
        self._argv = tuple(argv)
        self._reader = reader

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        data = self._channel.recv(size)
        if not data:
            exit_code = self._channel.recv_exit_status()
            self._reader.join(timeout=10)
            CommandResult(self._argv, exit_code, "", self._stderr.text()).raise_for_status(
                describe(self._argv)
            )
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
