"""A real registry for the registry-delivery scenarios: Debian's `docker-registry`
(distribution 2.8) with TLS from a throwaway CA and htpasswd (bcrypt) logins, listening on
the docker bridge gateway, the address the sandbox VM reaches this machine on.

Both engines are made to trust the CA the way a VM admin would: a `ca.crt` under
`/etc/docker/certs.d/<host:port>/`, here and inside the VM; both are removed afterwards.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOCKER_CERTS = Path("/etc/docker/certs.d")
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class RunningRegistry:
    """A running registry: where it listens, its CA, and the one login it accepts."""

    address: str
    """`IP:PORT`, the registry host of every image name pushed to it."""
    ca_pem: bytes
    username: str
    password: str = field(repr=False)

    def catalog(self) -> list[str]:
        """The repositories pushed so far (the registry's own API, logged in)."""
        return list(self._get("/v2/_catalog")["repositories"])

    def tags(self, repository: str) -> list[str]:
        """The tags of one repository."""
        return list(self._get(f"/v2/{repository}/tags/list")["tags"] or [])

    def _get(self, path: str) -> dict:
        response = httpx.get(
            f"https://{self.address}{path}",
            auth=(self.username, self.password),
            verify=_trusting(DOCKER_CERTS / self.address / "ca.crt"),
            timeout=10,
        )
        response.raise_for_status()
        return dict(response.json())


def bridge_gateway(container: str) -> str:
    """The IP a container reaches this machine on (its docker network's gateway)."""
    result = subprocess.run(
        [
            "docker",
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}",
            container,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()[0]


def certificates(ip: str) -> tuple[bytes, bytes, bytes]:
    """A throwaway CA, and a server certificate it signed for `ip`: (ca, cert, key) PEM."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shipyard e2e registry CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


def registry_config(root: Path, address: str) -> str:
    """distribution 2.8: filesystem storage, TLS, htpasswd logins, on `address` only."""
    return (
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: {address}\n"
        f"  tls:\n    certificate: {root / 'server.crt'}\n    key: {root / 'server.key'}\n"
        f"auth:\n  htpasswd:\n    realm: shipyard-e2e\n    path: {root / 'htpasswd'}\n"
    )


@contextmanager
def tls_registry(root: Path, ip: str, username: str, password: str) -> Iterator[RunningRegistry]:
    """Run the registry on `ip` (a free port) with TLS and one login; this machine's engine
    trusts its CA for the block (certs.d), and nothing of it is left afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    address = f"{ip}:{_free_port(ip)}"
    ca_pem, cert_pem, key_pem = certificates(ip)
    (root / "server.crt").write_bytes(cert_pem)
    (root / "server.key").write_bytes(key_pem)
    (root / "server.key").chmod(0o600)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    (root / "htpasswd").write_text(f"{username}:{hashed}\n", encoding="utf-8")
    config = root / "config.yml"
    config.write_text(registry_config(root, address), encoding="utf-8")
    created = not DOCKER_CERTS.exists()
    trust = DOCKER_CERTS / address
    trust.mkdir(parents=True)
    (trust / "ca.crt").write_bytes(ca_pem)
    log = (root / "registry.log").open("ab")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        _wait_until_up(address, trust / "ca.crt", process)
        yield RunningRegistry(address, ca_pem, username, password)
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        process.kill()
        process.wait()
        log.close()
        shutil.rmtree(trust, ignore_errors=True)
        if created:
            with suppress(OSError):  # only when empty: another registry's CA stays
                DOCKER_CERTS.rmdir()


def trust_in_vm(container: str, registry: RunningRegistry) -> None:
    """What a VM admin does once: the VM's engine trusts the registry's CA (certs.d)."""
    directory = f"{DOCKER_CERTS}/{registry.address}"
    subprocess.run(
        [
            "docker",
            "exec",
            "-i",
            container,
            "sh",
            "-c",
            f"mkdir -p {directory} && cat > {directory}/ca.crt",
        ],
        input=registry.ca_pem,
        capture_output=True,
        check=True,
    )


def untrust_in_vm(container: str, registry: RunningRegistry) -> None:
    """Remove the VM's trust of the registry again."""
    subprocess.run(
        ["docker", "exec", container, "rm", "-rf", f"{DOCKER_CERTS}/{registry.address}"],
        capture_output=True,
        check=False,
    )


def _wait_until_up(address: str, ca: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"docker-registry exited with {process.returncode}"
        with suppress(httpx.HTTPError):
            answer = httpx.get(f"https://{address}/v2/", verify=_trusting(ca), timeout=2)
            if answer.status_code == 401:
                return
        time.sleep(0.1)
    raise AssertionError(f"the registry did not answer on {address}")


def _trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def _free_port(ip: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ip, 0))
        return int(probe.getsockname()[1])
