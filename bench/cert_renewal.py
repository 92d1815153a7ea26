"""Requests dropped while the edge's certificate changes: `inv certs.renew --force` under
HTTPS load, against a sandbox VM already deployed with an https public URL.

Three client threads, for as long as the renewal runs plus two seconds (at most 300 s):
- HTTP/1.1: GET /health every 50 ms on one keep-alive connection;
- HTTP/2: GET /health every 50 ms on one HTTP/2 connection;
- handshakes: a new TLS connection every 200 ms, recording the certificate's serial, to
  show when the new certificate is served (nginx reads it at each handshake, no reload).
Together about 45 requests a second, under nginx's per-client limit (50 r/s). Prints, per
client: sent, failed, retried (a GET resent once because its reused keep-alive connection
was closed as it was sent, RFC 9112 section 9.3.1) and the longest gap between two
successful answers; then the serials seen before and after.

    . <(your sandbox overrides); .venv/bin/python bench/cert_renewal.py [--env sandbox] [--json]

The sandbox must be up (`inv sandbox.up` with an https public_url) and deployed.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from invoke.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipyard.config import Environment, load_config  # noqa: E402
from shipyard.edge.settings import trust_file  # noqa: E402
from tests.e2e.deploy_support import closed_unanswered  # noqa: E402

INTERVAL = 0.05
HANDSHAKE_INTERVAL = 0.2
LIMIT_SECONDS = 300.0


def invoke_environment(name: str) -> Environment:
    """Environment `name` as `inv` sees it: invoke.yaml plus INVOKE_* overrides."""
    config = Config(project_location=ROOT)
    config.load_project()
    config.load_shell_env()
    return load_config(config).environment(name)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """System CAs plus the environment's test CA."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=str(ca_file))
    return context


@dataclass
class Client:
    """One client thread's figures."""

    name: str
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    retried: int = 0
    successes: list[float] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        """The figures printed."""
        gaps = [b - a for a, b in zip(self.successes, self.successes[1:], strict=False)]
        return {
            "client": self.name,
            "sent": self.sent,
            "failed": len(self.failed),
            "retried": self.retried,
            "longest_gap_s": round(max(gaps, default=0.0), 3),
        }


def poll(
    url: str, context: ssl.SSLContext, http2: bool, client: Client, stop: threading.Event
) -> None:
    """GET /health on one connection until stopped; a GET whose reused connection closed
    unanswered is sent once more (counted as retried)."""
    deadline = time.monotonic() + LIMIT_SECONDS
    with httpx.Client(verify=context, http2=http2, http1=not http2, timeout=5) as session:
        while not stop.is_set() and time.monotonic() < deadline:
            client.sent += 1
            try:
                try:
                    response = session.get(f"{url}/health")
                except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                    if not closed_unanswered(exc):
                        raise
                    client.retried += 1
                    response = session.get(f"{url}/health")
                if response.status_code == 200:
                    client.successes.append(time.monotonic())
                else:
                    client.failed.append(str(response.status_code))
            except httpx.HTTPError as exc:
                client.failed.append(repr(exc))
            time.sleep(INTERVAL)


def handshakes(
    url: str,
    context: ssl.SSLContext,
    client: Client,
    serials: list[tuple[float, str]],
    stop: threading.Event,
) -> None:
    """A new TLS connection every HANDSHAKE_INTERVAL; records the served serial."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    deadline = time.monotonic() + LIMIT_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        client.sent += 1
        try:
            with (
                socket.create_connection((host, port), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                certificate = tls.getpeercert() or {}
                serial = str(certificate.get("serialNumber", "?"))
            client.successes.append(time.monotonic())
            serials.append((time.monotonic(), serial))
        except OSError as exc:
            client.failed.append(repr(exc))
        time.sleep(HANDSHAKE_INTERVAL)


def main() -> int:
    """Run the renewal under load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="sandbox")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = invoke_environment(args.env)
    url = env.public_url.rstrip("/")
    if not url.startswith("https://"):
        print(f"error: {args.env}'s public_url {url} is not https", file=sys.stderr)
        return 2
    context = tls_context(trust_file(env))
    stop = threading.Event()
    clients = [Client("HTTP/1.1 keep-alive"), Client("HTTP/2"), Client("new TLS handshakes")]
    serials: list[tuple[float, str]] = []
    threads = [
        threading.Thread(target=poll, args=(url, context, False, clients[0], stop)),
        threading.Thread(target=poll, args=(url, context, True, clients[1], stop)),
        threading.Thread(target=handshakes, args=(url, context, clients[2], serials, stop)),
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)
    started = time.monotonic()
    renew = subprocess.run(
        [str(ROOT / ".venv/bin/inv"), "certs.renew", "--env", args.env, "--force"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    renew_seconds = time.monotonic() - started
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    if renew.returncode != 0:
        print(f"error: inv certs.renew failed:\n{renew.stdout}{renew.stderr}", file=sys.stderr)
        return 1
    distinct = list(dict.fromkeys(serial for _, serial in serials))
    rows = [client.row() for client in clients]
    failures = [f"{c.name}: {f}" for c in clients for f in c.failed[:3]]
    result = {
        "renew_seconds": round(renew_seconds, 1),
        "clients": rows,
        "serials_served": distinct,
        "failures": failures,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"inv certs.renew --force took {renew_seconds:.1f} s under load")
    print(f"{'client':<22} {'sent':>6} {'failed':>7} {'retried':>8} {'longest gap':>12}")
    for row in rows:
        print(
            f"{row['client']:<22} {row['sent']:>6} {row['failed']:>7} {row['retried']:>8}"
            f" {row['longest_gap_s']:>11.3f}s"
        )
    print(f"certificate serials served, in order: {' -> '.join(distinct)}")
    for failure in failures:
        print(f"  {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
