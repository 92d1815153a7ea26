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

    . <(your sandbox overrides); .venv/bin/python bench/cert_renewal.py [--env sandbox]
        [--reloads 100] [--json]

`--reloads N` adds the baseline: the same load during N graceful `nginx -s reload`s (one
every 0.3 s), which is what changing the certificate by a reload would cost.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from invoke.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipyard.config import Environment, load_config  # noqa: E402
from shipyard.edge.settings import trust_file  # noqa: E402
from shipyard.remote.factory import runner_for  # noqa: E402
from tests.e2e.deploy_support import closed_unanswered  # noqa: E402

INTERVAL = 0.05
HANDSHAKE_INTERVAL = 0.2
LIMIT_SECONDS = 300.0
RELOAD_INTERVAL = 0.3


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


def under_load(
    url: str, ca_file: Path | None, operation: Callable[[], None]
) -> tuple[list[Client], list[str], float]:
    """Run `operation` while the three clients run (from 1 s before to 2 s after); their
    figures, the serials served in order, and how long the operation took. Each client
    has its own TLS context (httpx sets the ALPN protocols on the one it is given)."""
    stop = threading.Event()
    clients = [Client("HTTP/1.1 keep-alive"), Client("HTTP/2"), Client("new TLS handshakes")]
    serials: list[tuple[float, str]] = []
    threads = [
        threading.Thread(target=poll, args=(url, tls_context(ca_file), False, clients[0], stop)),
        threading.Thread(target=poll, args=(url, tls_context(ca_file), True, clients[1], stop)),
        threading.Thread(
            target=handshakes, args=(url, tls_context(ca_file), clients[2], serials, stop)
        ),
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)
    started = time.monotonic()
    try:
        operation()
    finally:
        seconds = time.monotonic() - started
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    return clients, list(dict.fromkeys(serial for _, serial in serials)), seconds


def renew_forced(env_name: str) -> None:
    """`inv certs.renew --env NAME --force`; SystemExit with its output when it fails."""
    renew = subprocess.run(
        [str(ROOT / ".venv/bin/inv"), "certs.renew", "--env", env_name, "--force"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if renew.returncode != 0:
        raise SystemExit(f"error: inv certs.renew failed:\n{renew.stdout}{renew.stderr}")


def reload_nginx(env: Environment, count: int) -> None:
    """`count` graceful nginx reloads on the VM, one every RELOAD_INTERVAL (the baseline:
    what changing the certificate by a reload would do)."""
    runner = runner_for(env)
    try:
        found = runner.run(edge_containers_argv(env.project), timeout=60)
        container = found.stdout.split()[0]
        for _ in range(count):
            runner.run(["docker", "exec", container, "nginx", "-s", "reload"], timeout=60)
            time.sleep(RELOAD_INTERVAL)
    finally:
        close = getattr(runner, "close", None)
        if close is not None:
            close()


def edge_containers_argv(project: str) -> list[str]:
    """The running nginx container(s) of the compose project."""
    labels = [
        f"label=com.docker.compose.project={project}",
        "label=com.docker.compose.service=nginx",
    ]
    return ["docker", "ps", "--quiet", *(arg for label in labels for arg in ("--filter", label))]


def print_rows(title: str, clients: list[Client]) -> None:
    """One table of client figures."""
    print(title)
    print(f"  {'client':<22} {'sent':>6} {'failed':>7} {'retried':>8} {'longest gap':>12}")
    for client in clients:
        row = client.row()
        print(
            f"  {row['client']:<22} {row['sent']:>6} {row['failed']:>7} {row['retried']:>8}"
            f" {row['longest_gap_s']:>11.3f}s"
        )
        for failure in client.failed[:3]:
            print(f"    {failure}")


def main() -> int:
    """Run the renewal (and the reload baseline) under load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="sandbox")
    parser.add_argument("--reloads", type=int, default=0, help="baseline: nginx reloads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = invoke_environment(args.env)
    url = env.public_url.rstrip("/")
    if not url.startswith("https://"):
        print(f"error: {args.env}'s public_url {url} is not https", file=sys.stderr)
        return 2
    ca_file = trust_file(env)
    clients, serials, seconds = under_load(url, ca_file, lambda: renew_forced(args.env))
    result: dict[str, object] = {
        "renew_seconds": round(seconds, 1),
        "clients": [client.row() for client in clients],
        "serials_served": serials,
    }
    baseline: list[Client] = []
    if args.reloads:
        baseline, _, _ = under_load(url, ca_file, lambda: reload_nginx(env, args.reloads))
        result["baseline_reloads"] = {
            "reloads": args.reloads,
            "clients": [client.row() for client in baseline],
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print_rows(f"inv certs.renew --force ({seconds:.1f} s) under load:", clients)
    print(f"  certificate serials served, in order: {' -> '.join(serials)}")
    if baseline:
        print_rows(
            f"baseline: {args.reloads} graceful nginx reloads under the same load:", baseline
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
