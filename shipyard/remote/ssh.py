"""Run commands on a VM over SSH (Fabric/paramiko), with host keys verified, never trusted.

The connection (`shipyard.remote.connection`) trusts only the environment's own
known_hosts file (`shipyard.remote.hostkeys`); ports are forwarded by
`shipyard.remote.forwarding`; command lines and channel streams come from
`shipyard.remote.streams`. Commands are executed in one place, `SSHRunner._open_channel`;
nothing reads standard input unless it is given.

Never pass a secret through `env`: over SSH it becomes part of the remote command line.
Secrets reach the VM in files (the release's `.env`, mode 0600).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import BinaryIO

import paramiko
from fabric import Connection

from shipyard.remote import forwarding
from shipyard.remote.base import CommandResult, Runner
from shipyard.remote.connection import SSHConnection, SSHTarget
from shipyard.remote.streams import (
    ChannelStream,
    Sink,
    feed,
    pump,
    remote_command,
    start_readers,
    wait,
    watched,
)


class SSHRunner(Runner):
    """Runs argv lists on a VM over one SSH connection (opened on first use)."""

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self.connection = SSHConnection(target)

    def close(self) -> None:
        """Close the connection (a later command opens a new one)."""
        self.connection.close()

    def connect(self) -> Connection:
        """Open the connection now (it opens on first use anyway); ConfigError (exit 2) when
        it cannot be made."""
        return self.connection.connect()

    def forward_remote(self, remote_port: int, local_port: int) -> AbstractContextManager[None]:
        """Listen on the VM's 127.0.0.1:`remote_port`, tunnelled to our 127.0.0.1:`local_port`."""
        return forwarding.forward_remote(self.connection, remote_port, local_port)

    def forward_local(
        self, remote_port: int, remote_host: str = "127.0.0.1"
    ) -> AbstractContextManager[int]:
        """Listen on a free port of our 127.0.0.1, tunnelled (SSH `direct-tcpip`) to
        `remote_host`:`remote_port` as seen from the VM; yields our port."""
        return forwarding.forward_local(self.connection, remote_port, remote_host)

    # -- the one place commands are executed ----------------------------------------------

    def _open_channel(
        self, argv: Sequence[str], env: Mapping[str, str] | None, *, watch: bool = True
    ) -> paramiko.Channel:
        channel = self.connection.transport().open_session(timeout=self.target.connect_timeout)
        channel.exec_command(remote_command(watched(argv) if watch else argv, env=env))
        return channel

    # -- running --------------------------------------------------------------------------

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
        out = Sink(None if capture else shown)
        err = Sink(None if capture else sys.stderr.buffer)
        source = None if stdin is None else [stdin]
        return self._exchange(argv, env, source, out, err, timeout)

    @contextmanager
    def stream_out(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> Iterator[BinaryIO]:
        """Run `argv` on the VM and hand its stdout over as a stream (see Runner.stream_out)."""
        channel = self._open_channel(argv, env)
        err = Sink(None)
        reader = threading.Thread(target=pump, args=(channel.recv_stderr, err), daemon=True)
        reader.start()
        try:
            yield ChannelStream(channel, err, argv, reader)  # type: ignore[misc]
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
        return self._exchange(argv, env, source, Sink(None), Sink(None), None)

    def _exchange(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        source: BinaryIO | Iterable[bytes] | None,
        out: Sink,
        err: Sink,
        timeout: float | None,
    ) -> CommandResult:
        """Run `argv`, feed it `source` (None: under the watchdog, stdin unused), collect."""
        channel = self._open_channel(argv, env, watch=source is None)
        readers = start_readers(channel, out, err)
        try:
            if source is not None:
                feed(channel, source)
            exit_code = wait(channel, timeout, argv)
        finally:
            for reader in readers:  # output sent before the exit status is still buffered
                reader.join(timeout=30)
            channel.close()
        return CommandResult(tuple(argv), exit_code, out.text(), err.text())
