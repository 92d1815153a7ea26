"""The monitoring profile's budget on a small VM: memory of each service after N minutes of
scraping and rule evaluation beside the stack under light load, and Prometheus's disk use
extrapolated to a day at that rate.

Starts its own local stack (`inv setup` under a project of its own, free port), then
`inv monitoring.up`, sends a light bounded load (about 5 requests per second through nginx)
for the whole run, reads `docker stats` at the end, and Prometheus's head and WAL sizes
(`du` inside its container) at the start and end of the window. Removes everything after.
Target: everything but Grafana under 400 MB together.

    .venv/bin/python bench/monitoring.py [--minutes 10] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipyard.monitoring.local import SERVICES  # noqa: E402
from tests.integration.support import IsolatedLocal, free_port, run_inv  # noqa: E402

MB = 1_000_000
BUDGET_MB = 400
UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": MB, "GB": 10**9}


def must(result: subprocess.CompletedProcess[str], what: str) -> None:
    """Stop with the command's output when it failed."""
    if result.returncode != 0:
        sys.exit(f"{what} failed:\n{result.stdout}\n{result.stderr}")


def containers(project: str) -> dict[str, str]:
    """Service -> container id of the project's running containers."""
    out = subprocess.run(
        ["docker", "ps", "--filter", f"label=com.docker.compose.project={project}",
         "--format", '{{.ID}} {{.Label "com.docker.compose.service"}}'],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {line.split()[1]: line.split()[0] for line in out.splitlines() if line.strip()}


def memory_bytes(container: str) -> int:
    """Current memory use of a container, as `docker stats` reports it."""
    text = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container],
        capture_output=True, text=True, check=True,
    ).stdout.split("/")[0].strip()  # fmt: skip
    for unit in sorted(UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * UNITS[unit])
    return int(float(text))


def tsdb_bytes(container: str) -> int:
    """Bytes under Prometheus's data directory."""
    out = subprocess.run(
        ["docker", "exec", container, "du", "-sk", "/prometheus"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(out.split()[0]) * 1024


def light_load(url: str, stop: threading.Event) -> int:
    """About 5 requests per second until `stop`; the count sent."""
    sent = 0
    with httpx.Client(base_url=url, timeout=5) as client:
        while not stop.is_set():
            for path in ("/health", "/ready", "/version", "/no-such-page", "/health"):
                with contextlib.suppress(httpx.HTTPError):
                    client.get(path)
                sent += 1
            stop.wait(1)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-monitoring-"))
    stack = IsolatedLocal(f"docstore-bench-mon-{os.getpid()}", workdir / ".env", free_port())
    try:
        setup = run_inv("setup", env=stack.overrides())
        if setup.returncode != 0 and "app" in containers(stack.project):
            # On a loaded machine the app can miss creating its bucket at start-up (it does
            # not retry); a restart creates it, and setup is idempotent.
            subprocess.run(["docker", "restart", containers(stack.project)["app"]], check=True)
            setup = run_inv("setup", env=stack.overrides())
        must(setup, "inv setup")
        must(run_inv("monitoring.up", env=stack.overrides()), "inv monitoring.up")
        ids = containers(stack.project)
        stop = threading.Event()
        sent: list[int] = []
        loader = threading.Thread(target=lambda: sent.append(light_load(stack.public_url, stop)))
        loader.start()
        start_bytes, started = tsdb_bytes(ids["prometheus"]), time.monotonic()
        time.sleep(args.minutes * 60)
        end_bytes, elapsed = tsdb_bytes(ids["prometheus"]), time.monotonic() - started
        memory = {service: memory_bytes(ids[service]) for service in SERVICES if service in ids}
        stop.set()
        loader.join()
    finally:
        run_inv("down", "--volumes", "--yes", env=stack.overrides())
        label = f"label=com.docker.compose.project={stack.project}"
        listing = ["docker", "volume", "ls", "-q", "--filter", label]
        volumes = subprocess.run(
            listing, capture_output=True, text=True, check=False
        ).stdout.split()
        if volumes:
            subprocess.run(["docker", "volume", "rm", *volumes], capture_output=True, check=False)
    total = sum(memory.values())
    per_day = (end_bytes - start_bytes) / elapsed * 86400
    result = {
        "minutes": args.minutes,
        "requests": sum(sent),
        "memory_mb": {service: round(value / MB, 1) for service, value in memory.items()},
        "total_mb": round(total / MB, 1),
        "budget_mb": BUDGET_MB,
        "prometheus_disk_mb_per_day": round(per_day / MB, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"after {args.minutes:g} min of scraping, {sum(sent)} requests of light load:")
    for service, value in result["memory_mb"].items():
        print(f"  {service:<18} {value:7.1f} MB")
    print(f"  {'total':<18} {result['total_mb']:7.1f} MB (budget {BUDGET_MB} MB, Grafana excluded)")
    print(f"Prometheus disk: {result['prometheus_disk_mb_per_day']:.1f} MB per day at this rate")


if __name__ == "__main__":
    main()
