"""Host-key trust for SSH: a VM's key is verified against the environment's own
known_hosts file, never learned on connect."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import paramiko


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

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        """Refuse the connection (never add the key)."""
        raise UnknownHostKeyError(hostname, key, self.known_hosts)


def strict_client(known_hosts: Path) -> paramiko.SSHClient:
    """An SSH client that trusts exactly the keys in `known_hosts` and rejects others."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(RejectUnknownHosts(known_hosts))
    return client
