"""Measure point-in-time recovery (docs/backups.md) and print the figures.
Run: .venv/bin/python bench/pitr.py [--size-mb 1024] [--write-seconds 90] [--json]

A stack of its own (`inv setup` under the compose project docstore-pitrbench-<pid>, free
port) archives WAL with pgBackRest into its in-stack object store, which stands for the
remote store. The bench:

1. fills a table with `--size-mb` MB and takes a full base backup (`inv backup.base`);
2. writes one row a second (and about 1 MB of churn with it) for `--write-seconds`,
   sampling the archive lag every 5 s with the query postgres-exporter runs
   (monitoring/postgres-exporter/queries.yaml): the WAL archive lag under a steady load;
3. destroys the database abruptly (container killed, data volume removed: what a lost VM
   does to it; the store survives), starts an empty one, runs
   `inv restore --to-time latest` and counts the rows lost: the RPO;
4. times `inv restore --to-time` to the base backup's end (the newest base backup alone,
   almost no WAL) against the latest restore (the base backup plus every archived segment).

No target is asserted (RPO <= 60 s of writes, restore within 1.5x of the base backup
alone are the goals); the stack and its volumes are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from shipyard.envfile.init import new_env_text  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
QUERIES = ROOT / "monitoring" / "postgres-exporter" / "queries.yaml"
OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bench:
    """The bench's stack and the commands it runs against it."""

    def __init__(self, project: str, env: dict[str, str]) -> None:
        self.project = project
        self.env = env

    def inv(self, *args: str) -> tuple[dict[str, object], float]:
        """`inv ARGS --json`; (its document, wall seconds). Exits on a failure."""
        started = time.monotonic()
        result = subprocess.run(
            [INV, *args, "--json"], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, check=False, timeout=3600,
        )  # fmt: skip
        if result.returncode != 0:
            sys.exit(f"inv {' '.join(args)} failed: {result.stderr[-2000:]}")
        return json.loads(result.stdout), time.monotonic() - started

    def sql(self, sql: str, rows: int = 0) -> str:
        """Statements in the app's database (psql variable :rows = `rows`); the output."""
        result = subprocess.run(
            ["docker", "exec", "-i", f"{self.project}-db-1", "psql", "-U", "docstore",
             "-d", "docstore", "-At", "-v", "ON_ERROR_STOP=1", "-v", f"rows={rows}"],
            input=sql, capture_output=True, text=True, check=False, timeout=3600,
        )  # fmt: skip
        if result.returncode != 0:
            sys.exit(f"psql failed: {result.stderr[-1000:]}")
        return result.stdout.strip()


def _lag_sampler(bench: Bench, stop: threading.Event, samples: list[float]) -> None:
    query = yaml.safe_load(QUERIES.read_text())["pg_archiver"]["query"]
    while not stop.wait(5):
        row = bench.sql(query).split("|")
        samples.append(float(row[1]))


def main() -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--write-seconds", type=int, default=90)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    project = f"docstore-pitrbench-{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="pitr-bench-"))
    env_file = tmp / ".env"
    (tmp / "backup.key").write_text(secrets.token_hex(32) + "\n")
    port = free_port()
    text = new_env_text("local", public_url=f"http://127.0.0.1:{port}")
    env_file.write_text(text + "BACKUP_ENCRYPTION_KEY_FILE=backup.key\n")
    env_file.chmod(0o600)
    env = {
        **os.environ,
        f"{OVERRIDE}PROJECT": project,
        f"{OVERRIDE}ENV_FILE": str(env_file),
        f"{OVERRIDE}PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    bench = Bench(project, env)
    figures: dict[str, object] = {"size_mb": args.size_mb, "write_seconds": args.write_seconds}
    try:
        _measure(args, bench, env, figures)
    except SystemExit:
        print(f"figures so far: {figures}", file=sys.stderr)
        raise
    finally:
        subprocess.run([INV, "down", "--volumes", "--yes"], cwd=ROOT, env=env, capture_output=True)
        listed = subprocess.run(
            ["docker", "volume", "ls", "-q", "--filter", f"name={project}_pgdata-"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        for volume in listed.stdout.split():
            subprocess.run(["docker", "volume", "rm", volume], capture_output=True, check=False)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:<36} {value}")


def _measure(
    args: argparse.Namespace, bench: Bench, env: dict[str, str], figures: dict[str, object]
) -> None:
    """Steps 1-4 of the module doc, filling `figures` as it goes."""
    project = bench.project
    subprocess.run([INV, "setup"], cwd=ROOT, env=env, check=True, capture_output=True)
    rows = args.size_mb * 1024 * 1024 // 600
    started = time.monotonic()
    bench.sql(
        "CREATE TABLE bulk (id int, payload text);"
        " INSERT INTO bulk SELECT g, repeat(md5(g::text), 17) FROM generate_series(1, :rows) g;"
        " CREATE TABLE probe (id serial PRIMARY KEY,"
        " written timestamptz DEFAULT clock_timestamp());"
        " CREATE TABLE churn (payload text);",
        rows,
    )
    print(f"filled {args.size_mb} MB", file=sys.stderr)
    figures["fill_seconds"] = round(time.monotonic() - started, 1)
    figures["database_mb"] = round(int(bench.sql("SELECT pg_database_size('docstore')")) / 1e6, 1)
    base, seconds = bench.inv("backup.base", "--type", "full")
    figures["base_backup_seconds"] = round(seconds, 1)
    print(f"base backup: {figures}", file=sys.stderr)

    stop, samples = threading.Event(), list[float]()
    sampler = threading.Thread(target=_lag_sampler, args=(bench, stop, samples))
    sampler.start()
    writer = subprocess.Popen(
        ["docker", "exec", f"{project}-db-1", "psql", "-U", "docstore", "-d", "docstore",
         "-c", "DO $$ BEGIN FOR i IN 1..100000 LOOP INSERT INTO probe DEFAULT VALUES;"
         " INSERT INTO churn SELECT repeat(md5(random()::text), 32)"
         " FROM generate_series(1, 500);"
         " COMMIT; PERFORM pg_sleep(1); END LOOP; END $$"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(args.write_seconds)
    stop.set()
    sampler.join()
    written = int(bench.sql("SELECT max(id) FROM probe"))
    subprocess.run(["docker", "kill", f"{project}-db-1"], check=True, capture_output=True)
    writer.wait(timeout=60)
    figures["archive_lag_seconds"] = {
        "max": round(max(samples), 1) if samples else None,
        "mean": round(statistics.fmean(samples), 1) if samples else None,
        "samples": len(samples),
    }
    print(f"writes done: {figures}", file=sys.stderr)
    # The lost VM: the database's container and data volume go; the store stays.
    subprocess.run(["docker", "rm", "-f", f"{project}-db-1"], check=True, capture_output=True)
    subprocess.run(["docker", "volume", "rm", f"{project}_pgdata"], check=True, capture_output=True)
    subprocess.run([INV, "up"], cwd=ROOT, env=env, check=True, capture_output=True)
    _, latest_seconds = bench.inv("restore", "--to-time", "latest", "--yes")
    recovered = int(bench.sql("SELECT coalesce(max(id), 0) FROM probe"))
    figures["rows_written"] = written
    figures["rows_lost"] = written - recovered
    figures["rpo_seconds_of_writes"] = written - recovered  # one row a second
    figures["pitr_restore_latest_seconds"] = round(latest_seconds, 1)
    base_end = str(bench.inv("backup.window")[0]["oldest"]).replace("T", " ")
    _, base_seconds = bench.inv("restore", "--to-time", base_end, "--yes")
    figures["restore_base_backup_alone_seconds"] = round(base_seconds, 1)
    figures["pitr_over_base_ratio"] = round(latest_seconds / base_seconds, 2)
    figures["base_backup"] = base.get("label")


if __name__ == "__main__":
    main()
