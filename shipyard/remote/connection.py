"""The SSH connection to a VM (Fabric/paramiko): where to log in, opened on first use with
the environment's known_hosts as the only trust anchor, every failure one ConfigError."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import paramiko
from fabric import Connection

from shipyard.errors import ConfigError
from shipyard.remote.hostkeys import UnknownHostKeyError, fingerprint, strict_client


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


class SSHConnection:
    """One SSH connection to `target`, opened on first use and reopened after `close`."""

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def connect(self) -> Connection:
        """The open Fabric connection; ConfigError (exit 2) when it cannot be made."""
        with self._lock:
            if self._connection is None:
                self._connection = open_connection(self.target)
            return self._connection

    def transport(self) -> paramiko.Transport:
        """The connection's SSH transport, reconnecting once when it has dropped."""
        transport: paramiko.Transport | None = self.connect().client.get_transport()
        if transport is None or not transport.is_active():
            self.close()
            transport = self.connect().client.get_transport()
        assert transport is not None
        return transport

    def close(self) -> None:
        """Close the connection (a later use opens a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def open_connection(target: SSHTarget) -> Connection:
    """A Fabric connection to `target` that trusts only its known_hosts file, opened."""
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
            f"ssh {_where(connection)}: the key was refused",
            hint="check the user and key (invoke.yaml ssh_key, or ~/.ssh/config)",
        ) from None
    except TimeoutError:
        raise ConfigError(
            f"ssh {_where(connection)}: no answer within {target.connect_timeout:.0f} s",
            hint="check the host and port, and that the VM is up",
        ) from None
    except (OSError, paramiko.SSHException) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"ssh {_where(connection)}: cannot connect ({reason})",
            hint="check the host and port, and that the VM is up",
        ) from None
    return connection


def _where(connection: Connection) -> str:
    return f"{connection.user}@{connection.host}:{connection.port}"
