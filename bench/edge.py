"""Latency through the edge: `/ready` over HTTPS at a steady 200 requests a second for
30 s against a sandbox VM deployed with an https public URL, with p50/p95/p99 and errors;
in the same run, nginx's own `/nginx-health` over HTTPS and over plain HTTP (port 80,
which in an https environment answers only that probe, ACME and redirects), whose ratio
is what TLS costs at the edge.

The load generator is `hey` (Debian package `hey`, Go: no Python in the measured path),
40 keep-alive workers at 5 requests a second each (enough of them that slow answers do
not lower the rate), its per-request CSV read back here.
One client address sending 200 requests a second would meet the per-client rate limits
(most answers would be 429s): the script raises RATE_LIMIT_PER_MINUTE and _BURST in the
sandbox's env file and deploys, then puts the file back and deploys again; it says so.

    . <(your sandbox overrides); .venv/bin/python bench/edge.py [--env sandbox] [--seconds 30]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cert_renewal import invoke_environment  # noqa: E402
from shipyard.edge.settings import trust_file  # noqa: E402
from shipyard.sandbox.tls import set_values  # noqa: E402

WORKERS = 40
PER_WORKER_RPS = 5
RAISED = {"RATE_LIMIT_PER_MINUTE": "600000", "RATE_LIMIT_BURST": "2000"}


def hey(url: str, seconds: int, ca_file: Path | None) -> dict[str, float]:
    """One steady run of hey; latency percentiles (ms) and errors."""
    argv = ["hey", "-z", f"{seconds}s", "-c", str(WORKERS), "-q", str(PER_WORKER_RPS)]
    env = dict(os.environ)
    if ca_file:
        env["SSL_CERT_FILE"] = str(ca_file)
    run = subprocess.run(
        [*argv, "-o", "csv", url], capture_output=True, text=True, env=env, check=False
    )
    if run.returncode != 0:
        raise SystemExit(f"error: hey failed: {run.stderr.strip()[:300]}")
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    ok = [float(r["response-time"]) * 1000 for r in rows if r["status-code"] == "200"]
    if len(ok) < 2:
        raise SystemExit(f"error: {url}: {len(rows)} requests, {len(ok)} answered 200")
    cuts = statistics.quantiles(ok, n=100)
    others = Counter(r["status-code"] for r in rows if r["status-code"] != "200")
    if others:
        print(f"  {url}: answers other than 200: {dict(others)}")
    return {
        "sent": len(rows),
        "errors": len(rows) - len(ok),
        "rps": round(len(rows) / seconds, 1),
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
    }


def deploy(env_name: str) -> None:
    """`inv deploy --env NAME` (its config changed: nginx reloads)."""
    result = subprocess.run(
        [str(ROOT / ".venv/bin/inv"), "deploy", "--env", env_name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"error: inv deploy failed:\n{result.stdout[-2000:]}{result.stderr}")


def main() -> int:
    """Raise the limits, measure, put them back; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="sandbox")
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    if shutil.which("hey") is None:
        print("error: hey is missing (apt-get install hey)", file=sys.stderr)
        return 2
    env = invoke_environment(args.env)
    url = env.public_url.rstrip("/")
    if urlsplit(url).scheme != "https" or not env.http_port:
        print(f"error: {args.env} needs an https public_url and http_port", file=sys.stderr)
        return 2
    plain = f"http://{urlsplit(url).hostname}:{env.http_port}"
    env_file = env.path(env.env_file)
    saved = env_file.read_text(encoding="utf-8")
    print(f"raising the per-client limits for the run in {env_file.name}: {RAISED}")
    set_values(env_file, RAISED)
    try:
        deploy(args.env)
        ca = trust_file(env)
        rows = {
            "/ready over HTTPS": hey(f"{url}/ready", args.seconds, ca),
            "/nginx-health over HTTPS": hey(f"{url}/nginx-health", args.seconds, ca),
            "/nginx-health over HTTP": hey(f"{plain}/nginx-health", args.seconds, None),
        }
    finally:
        env_file.write_text(saved, encoding="utf-8")
        print(f"put {env_file.name} back; deploying its own limits again")
        deploy(args.env)
    rate = WORKERS * PER_WORKER_RPS
    print(f"\n{rate} requests/s for {args.seconds} s each, {WORKERS} keep-alive connections")
    print(f"{'run':<26} {'sent':>6} {'errors':>6} {'req/s':>6} {'p50':>8} {'p95':>8} {'p99':>8}")
    for name, row in rows.items():
        print(
            f"{name:<26} {row['sent']:>6} {row['errors']:>6} {row['rps']:>6}"
            f" {row['p50_ms']:>6.2f}ms {row['p95_ms']:>6.2f}ms {row['p99_ms']:>6.2f}ms"
        )
    tls, http = rows["/nginx-health over HTTPS"], rows["/nginx-health over HTTP"]
    print(f"TLS / plain HTTP at p95 (nginx-health): {tls['p95_ms'] / http['p95_ms']:.2f}x")
    print("plain HTTP /ready is not served in an https environment (port 80 redirects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
