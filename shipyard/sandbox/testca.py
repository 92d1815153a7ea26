"""The sandbox's test ACME server: Debian's Pebble with pebble-challtestsrv as its DNS.

A sandbox whose public URL is https gets its certificates from a real RFC 8555 server on
this machine, never from the Internet: Pebble listens on 127.0.0.1 (the VM reaches it
through an SSH reverse tunnel, like the local registry), resolves every name through
challtestsrv (only the sandbox's own names, to 127.0.0.1) and validates HTTP-01 on the
port where the sandbox VM publishes nginx's port 80. Pebble makes a new root CA at every
start: `root.pem` is what clients of the sandbox trust.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shipyard.errors import CommandFailedError, PrerequisiteError
from shipyard.processes import pid_alive

VALIDITY_DAYS = 30
"""Lifetime of Pebble's certificates: short (Pebble's default of 5 years is flagged by
Mozilla's check), and not 90 days, so nothing can silently assume Let's Encrypt's."""
START_TIMEOUT = 20.0
PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"


@dataclass(frozen=True)
class TestCA:
    """Where one sandbox's Pebble lives: its state directory and ports on 127.0.0.1."""

    state: Path
    acme_port: int
    management_port: int
    dns_port: int
    dns_management_port: int

    @property
    def directory_url(self) -> str:
        """The ACME directory, as seen on this machine (and through the tunnel on the VM)."""
        return f"https://127.0.0.1:{self.acme_port}/dir"

    @property
    def server_ca(self) -> Path:
        """The CA of Pebble's own HTTPS listener (what an ACME client must trust)."""
        return self.state / "server-ca.pem"

    @property
    def root(self) -> Path:
        """Pebble's issuing root of this run: what clients of the sandbox trust."""
        return self.state / "root.pem"

    def to_json(self) -> str:
        """The state file's text."""
        data = {
            "acme_port": self.acme_port,
            "management_port": self.management_port,
            "dns_port": self.dns_port,
            "dns_management_port": self.dns_management_port,
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def load(cls, state: Path) -> TestCA | None:
        """The test CA recorded in `state`, or None when none was started there."""
        path = state / "testca.json"
        if not path.exists():
            return None
        return cls(state=state, **json.loads(path.read_text(encoding="utf-8")))


def pebble_config(ca: TestCA, http_port: int) -> dict[str, object]:
    """Pebble's configuration: HTTP-01 validation against `http_port` on 127.0.0.1."""
    return {
        "pebble": {
            "listenAddress": f"127.0.0.1:{ca.acme_port}",
            "managementListenAddress": f"127.0.0.1:{ca.management_port}",
            "certificate": str(ca.state / "server.pem"),
            "privateKey": str(ca.state / "server-key.pem"),
            "httpPort": http_port,
            "tlsPort": http_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
            "certificateValidityPeriod": VALIDITY_DAYS * 86400,
        }
    }


def challtestsrv_argv(ca: TestCA) -> list[str]:
    """challtestsrv as a DNS server only, answering no name until one is added (so a name
    that was not added does not point at the VM)."""
    return [
        CHALLTESTSRV,
        "-defaultIPv4",
        "",
        "-defaultIPv6",
        "",
        "-dns01",
        f"127.0.0.1:{ca.dns_port}",
        "-management",
        f"127.0.0.1:{ca.dns_management_port}",
        "-http01",
        "",
        "-https01",
        "",
        "-tlsalpn01",
        "",
    ]


def pebble_argv(ca: TestCA) -> list[str]:
    """Pebble, resolving names through challtestsrv."""
    config = str(ca.state / "pebble.json")
    return [PEBBLE, "-config", config, "-dnsserver", f"127.0.0.1:{ca.dns_port}"]


def write_server_certificate(state: Path) -> None:
    """A throwaway CA and a certificate for 127.0.0.1 and localhost, for Pebble's listener."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shipyard sandbox ACME listener")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (state / "server-ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (state / "server.pem").write_bytes(cert.public_bytes(pem))
    key_file = state / "server-key.pem"
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)


def _pid_file(state: Path, name: str) -> Path:
    return state / f"{name}.pid"


def running(state: Path) -> bool:
    """True when both processes recorded in `state` still run."""
    for name in ("pebble", "challtestsrv"):
        path = _pid_file(state, name)
        if not path.exists() or not pid_alive(int(path.read_text(encoding="utf-8"))):
            return False
    return True


def _spawn(state: Path, name: str, argv: list[str], env: dict[str, str]) -> None:
    log = (state / f"{name}.log").open("ab")
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    _pid_file(state, name).write_text(str(process.pid), encoding="utf-8")


def _get(url: str, cafile: Path | None = None) -> bytes:
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    with urllib.request.urlopen(url, timeout=5, context=context) as answer:  # noqa: S310
        body: bytes = answer.read()
        return body


def _post_json(url: str, payload: dict[str, object]) -> None:
    request = urllib.request.Request(  # noqa: S310 - our own management port
        url, data=json.dumps(payload).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


def add_name(ca: TestCA, name: str, address: str = "127.0.0.1") -> None:
    """Point `name` at `address` in challtestsrv's DNS (what Pebble validates against)."""
    _post_json(
        f"http://127.0.0.1:{ca.dns_management_port}/add-a",
        {"host": name if name.endswith(".") else f"{name}.", "addresses": [address]},
    )


def start(
    state: Path, ports: tuple[int, int, int, int], http_port: int, names: list[str]
) -> TestCA:
    """Start challtestsrv and Pebble (unless they run already), point `names` at 127.0.0.1
    and save Pebble's root as root.pem."""
    for binary in (PEBBLE, CHALLTESTSRV):
        if not Path(binary).exists():
            raise PrerequisiteError(
                f"{binary} is missing", hint="apt-get install pebble (./scripts/bootstrap does)"
            )
    existing = TestCA.load(state)
    if existing and running(state):
        for name in names:
            add_name(existing, name)
        return existing
    stop(state)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = TestCA(state, *ports)
    write_server_certificate(state)
    (state / "pebble.json").write_text(json.dumps(pebble_config(ca, http_port)), encoding="utf-8")
    (state / "testca.json").write_text(ca.to_json(), encoding="utf-8")
    _spawn(state, "challtestsrv", challtestsrv_argv(ca), {})
    _spawn(
        state, "pebble", pebble_argv(ca), {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            for name in names:
                add_name(ca, name)
            ca.root.write_bytes(
                _get(f"https://127.0.0.1:{ca.management_port}/roots/0", ca.server_ca)
            )
            _get(ca.directory_url, ca.server_ca)
            return ca
        except OSError as exc:
            if time.monotonic() > deadline or not running(state):
                logs = (state / "pebble.log").read_text(encoding="utf-8", errors="replace")
                stop(state)
                raise CommandFailedError(
                    f"the test ACME server did not start: {exc}; {logs.strip()[-300:]}"
                ) from None
            time.sleep(0.2)


def stop(state: Path) -> bool:
    """Stop the processes recorded in `state` (ours, by pid); True when one ran."""
    stopped = False
    for name in ("pebble", "challtestsrv"):
        path = _pid_file(state, name)
        if not path.exists():
            continue
        pid = int(path.read_text(encoding="utf-8"))
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            stopped = True
        path.unlink()
    return stopped
