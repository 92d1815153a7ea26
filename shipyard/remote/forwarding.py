"""Port forwarding over an SSH connection, both ways: a VM port to one of ours (reverse,
`ssh -R`) and one of ours to a port the VM reaches (`ssh -L`, direct-tcpip channels)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import paramiko

from shipyard.errors import CommandFailedError
from shipyard.remote.connection import SSHConnection

CHUNK = 256 * 1024


@contextmanager
def forward_remote(connection: SSHConnection, remote_port: int, local_port: int) -> Iterator[None]:
    """Listen on the VM's 127.0.0.1:`remote_port`, tunnelled to our 127.0.0.1:`local_port`.

    A failure of the tunnel, while it opens or while the block uses it, is a
    CommandFailedError (exit 1)."""
    try:
        with connection.connect().forward_remote(
            remote_port=remote_port,
            remote_host="127.0.0.1",
            local_port=local_port,
            local_host="127.0.0.1",
        ):
            yield
    except (OSError, paramiko.SSHException) as exc:
        raise CommandFailedError(f"the SSH reverse tunnel to the VM failed: {exc}") from None


@contextmanager
def forward_local(
    connection: SSHConnection, remote_port: int, remote_host: str = "127.0.0.1"
) -> Iterator[int]:
    """Listen on a free port of our 127.0.0.1, tunnelled (SSH `direct-tcpip`) to
    `remote_host`:`remote_port` as seen from the VM; yields our port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    accepter = threading.Thread(
        target=_accept_forwarded,
        args=(connection, listener, (remote_host, remote_port), stop),
        daemon=True,
    )
    accepter.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        accepter.join(timeout=5)


def _accept_forwarded(
    connection: SSHConnection,
    listener: socket.socket,
    destination: tuple[str, int],
    stop: threading.Event,
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
            transport = connection.connect().client.get_transport()
            assert transport is not None
            channel = transport.open_channel("direct-tcpip", destination, origin)
        except (OSError, paramiko.SSHException):
            client.close()
            continue
        threading.Thread(target=_splice, args=(client, channel), daemon=True).start()


def _copy(
    receive: Callable[[int], bytes], send: Callable[[bytes], None], done: Callable[[], object]
) -> None:
    with suppress(OSError, EOFError):
        for chunk in iter(lambda: receive(CHUNK), b""):
            send(chunk)
    with suppress(OSError):
        done()


def _splice(client: socket.socket, channel: paramiko.Channel) -> None:
    """Copy bytes both ways between a local socket and an SSH channel until both ends close."""
    upstream = threading.Thread(
        target=_copy, args=(client.recv, channel.sendall, channel.shutdown_write), daemon=True
    )
    upstream.start()
    _copy(channel.recv, client.sendall, lambda: client.shutdown(socket.SHUT_WR))
    upstream.join(timeout=30)
    channel.close()
    client.close()
