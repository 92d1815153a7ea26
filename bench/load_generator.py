"""How many requests per second `inv load`'s generator (Locust) drives on one core, next to
`wrk` on the same static nginx endpoint in the same run, printed as a ratio.

A throwaway nginx container (the stack's own nginx image, its static index page, reached at
the container's own address, not through docker-proxy) is pinned to one core; each
generator is pinned to the other. Both runs are
bounded in time. Needs `wrk` (Debian package: `apt-get install wrk`) and a Docker engine.

    .venv/bin/python bench/load_generator.py [--seconds 10] [--connections 10]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipyard.images.resolve import resolve_images  # noqa: E402

LOCUSTFILE = """
from locust import HttpUser, constant, task


class StaticUser(HttpUser):
    # The same client `inv load` uses (HttpUser), with no think time: as fast as it goes.
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
"""


def _cores() -> tuple[str, str]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return str(cores[0]), str(cores[0])
    return str(cores[0]), str(cores[1])


def _start_nginx(image: str, core: str) -> tuple[str, str]:
    name = f"shipyard-bench-nginx-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "docker",
            "run",
            "--detach",
            "--rm",
            "--name",
            name,
            "--cpuset-cpus",
            core,
            "--publish",
            "127.0.0.1::80",
            image,
        ],
        check=True,
        capture_output=True,
    )
    port = (
        subprocess.run(
            ["docker", "port", name, "80/tcp"], check=True, capture_output=True, text=True
        )
        .stdout.split()[0]
        .rsplit(":", 1)[1]
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return name, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"nginx in {name} did not answer on {url}")


def _wrk(url: str, core: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"wrk printed no Requests/sec:\n{out}")
    return float(match[1])


def _locust(url: str, core: str, seconds: int, users: int) -> float:
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as scratch:
        locustfile = Path(scratch) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE, encoding="utf-8")
        prefix = Path(scratch) / "bench"
        subprocess.run(
            [
                "taskset",
                "-c",
                core,
                sys.executable,
                "-m",
                "locust",
                "--locustfile",
                str(locustfile),
                "--headless",
                "--host",
                url,
                "--users",
                str(users),
                "--spawn-rate",
                str(users),
                "--run-time",
                f"{seconds}s",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            check=True,
            capture_output=True,
            timeout=seconds + 60,
        )
        with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
            for row in csv.DictReader(stats):
                if row["Name"] == "Aggregated":
                    return float(row["Requests/s"])
    raise SystemExit("Locust wrote no aggregated statistics")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each run")
    parser.add_argument("--connections", type=int, default=10, help="wrk connections = users")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    image = resolve_images(keys=["nginx"])["NGINX_IMAGE"]
    generator_core, nginx_core = _cores()
    name, url = _start_nginx(image, nginx_core)
    try:
        wrk_rps = _wrk(url, generator_core, args.seconds, args.connections)
        locust_rps = _locust(url, generator_core, args.seconds, args.connections)
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)
    print(
        f"static nginx endpoint ({image}, core {nginx_core}); generators on core {generator_core}"
    )
    print(f"{args.seconds} s each, {args.connections} connections/users")
    print(f"wrk          {wrk_rps:>10.0f} requests/s")
    print(f"inv load     {locust_rps:>10.0f} requests/s (Locust HttpUser, one process)")
    ratio = locust_rps / wrk_rps
    print(f"ratio        {ratio:>10.3f} (inv load / wrk; wrk drives {1 / ratio:.1f}x more)")


if __name__ == "__main__":
    main()
