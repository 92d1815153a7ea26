"""Measure the stack's own object store's memory while `inv backup` writes into it.
Run: .venv/bin/python bench/objectstore_memory.py [--sizes 256,1024] [--json]

A stack of its own (compose project docstore-bench-os, free ports) is set up with
`inv setup`; its env file sets no BACKUP_S3_ENDPOINT, so backups go to the stack's own
object store (the default of local and sandbox). For each size, the database gets that
many MB of incompressible bytes (pgcrypto's gen_random_bytes) and `inv backup` runs while
the object store's memory is sampled every 0.2 s: the resident size of its server process
(VmRSS, from /proc on this host) and the container's memory as `docker stats` counts it
(cgroup usage less inactive file pages, what the 1 GiB limit acts on). Printed per size:
stored MB, backup seconds, peak RSS, peak container memory; and whether the container ran
through without a restart or an OOM kill. Target (issue 16): the peaks do not grow with
the backup's size (within 25 %), and no restart. The stack is removed at the end; exit 1
when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipyard.envfile.init import new_env_text  # noqa: E402
from shipyard.envfile.load import read_env_file  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
PROJECT = f"docstore-bench-os-{os.getpid()}"
SAMPLE_SECONDS = 0.2


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    """The bench's stack: inv, compose and psql against it."""

    def __init__(self, scratch: Path) -> None:
        port = free_port()
        self.env_file = scratch / ".env"
        url = f"http://127.0.0.1:{port}"
        self.env_file.write_text(new_env_text("local", public_url=url))
        self.env_file.chmod(0o600)
        self.values = read_env_file(self.env_file)
        self.env = {
            **os.environ,
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_PROJECT": PROJECT,
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_ENV_FILE": str(self.env_file),
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_PUBLIC_URL": url,
        }

    def inv(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [INV, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"inv {' '.join(args)} failed:\n{result.stderr}")
        return result

    def compose(self, *args: str) -> str:
        argv = [
            "docker", "compose", "--project-name", PROJECT, "--env-file", str(self.env_file),
            "--file", "compose/compose.yaml", "--file", "compose/compose.local.yaml", *args,
        ]  # fmt: skip
        return subprocess.run(
            argv, cwd=ROOT, env=self.env, capture_output=True, text=True, check=True
        ).stdout

    def sql(self, sql: str) -> None:
        user, name = self.values["POSTGRES_USER"], self.values["POSTGRES_DB"]
        self.compose("exec", "-T", "db", "psql", "-U", user, "-d", name, "-v", "ON_ERROR_STOP=1",
                     "-qc", sql)  # fmt: skip

    def objectstore(self) -> dict[str, Any]:
        container = self.compose("ps", "--all", "--quiet", "objectstore").strip()
        out = subprocess.run(
            ["docker", "inspect", container], capture_output=True, text=True, check=True
        ).stdout
        state: dict[str, Any] = json.loads(out)[0]
        return state


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _stats_bytes(container: str) -> int:
    """`docker stats`' memory figure for the container, in bytes."""
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{json .}}", container],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    used = json.loads(out)["MemUsage"].split("/")[0].strip()
    units = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "B": 1}
    for unit, factor in units.items():
        if used.endswith(unit):
            return int(float(used[: -len(unit)]) * factor)
    return 0


class Sampler:
    """Peak RSS of a process and peak `docker stats` memory of its container, in threads."""

    def __init__(self, pid: int, container: str) -> None:
        self.pid, self.container = pid, container
        self.peak_rss = self.peak_stats = 0
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._rss, daemon=True),
            threading.Thread(target=self._stats, daemon=True),
        ]

    def _rss(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self.peak_rss = max(self.peak_rss, _rss_bytes(self.pid))

    def _stats(self) -> None:
        while not self._done.is_set():
            self.peak_stats = max(self.peak_stats, _stats_bytes(self.container))

    def __enter__(self) -> Sampler:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,1024", help="MB of random bytes, in order")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-os-") as scratch:
        stack = Stack(Path(scratch))
        try:
            print("setting up the bench stack (inv setup) ...", file=sys.stderr)
            stack.inv("setup")
            stack.sql("CREATE EXTENSION IF NOT EXISTS pgcrypto")
            first = stack.objectstore()
            pid, container = first["State"]["Pid"], first["Id"]
            idle_rss = _rss_bytes(pid)
            for size in sizes:
                print(f"{size} MB of random bytes, then inv backup ...", file=sys.stderr)
                stack.sql("DROP TABLE IF EXISTS random_bytes")
                create = "CREATE TABLE random_bytes AS SELECT g AS id, gen_random_bytes(1024)"
                stack.sql(f"{create} AS payload FROM generate_series(1, {size * 1024}) g")
                started = time.monotonic()
                with Sampler(pid, container) as sampler:
                    result = stack.inv("backup", "--json", "--no-prune")
                seconds = time.monotonic() - started
                stored = json.loads(result.stdout)["backup"]["database"]["stored_bytes"]
                rows.append({
                    "random_mb": size,
                    "stored_mb": stored / 1e6,
                    "backup_seconds": seconds,
                    "peak_rss_mb": sampler.peak_rss / 1e6,
                    "peak_container_mb": sampler.peak_stats / 1e6,
                })  # fmt: skip
            last = stack.objectstore()
        finally:
            subprocess.run([INV, "down", "--volumes", "--yes"], cwd=ROOT, env=stack.env,
                           capture_output=True, check=False)  # fmt: skip
    limit = last["HostConfig"]["Memory"]
    survived = (
        last["State"]["StartedAt"] == first["State"]["StartedAt"]
        and last["RestartCount"] == 0
        and not last["State"]["OOMKilled"]
    )
    flat = all(row[key] <= 1.25 * rows[0][key] for row in rows for key in ("peak_rss_mb",))
    targets = {"no restart, no OOM kill": survived, "peak RSS flat (within 25 %)": flat}
    if args.json:
        print(json.dumps({"idle_rss_mb": idle_rss / 1e6, "limit_bytes": limit, "runs": rows,
                          "targets": targets}, indent=2))  # fmt: skip
    else:
        print(f"object store idle RSS {idle_rss / 1e6:.0f} MB; container limit"
              f" {limit / 2**20:.0f} MiB")  # fmt: skip
        print(f"{'random MB':>10} {'stored MB':>10} {'backup s':>9} {'peak RSS MB':>12}"
              f" {'peak container MB':>18}")  # fmt: skip
        for row in rows:
            print(f"{row['random_mb']:>10.0f} {row['stored_mb']:>10.0f}"
                  f" {row['backup_seconds']:>9.1f} {row['peak_rss_mb']:>12.0f}"
                  f" {row['peak_container_mb']:>18.0f}")  # fmt: skip
        for target, met in targets.items():
            print(f"{'met   ' if met else 'MISSED'} {target}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
