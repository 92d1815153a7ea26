"""Measure `inv backup` and the restore against plain pg_dump / pg_restore, and print figures.
Run: .venv/bin/python bench/backup.py [--scale 20] [--random-mb 500] [--objects 1000] [--json]

A stack of its own (compose project docstore-bench, free ports) is set up with `inv setup`;
the database gets pgbench's tables (scale 20), a table of incompressible bytes
(pgcrypto's gen_random_bytes) and the app bucket 1,000 objects. The backup store is a moto
S3 server on 127.0.0.1. Printed: the default `pg_dump -Fc > /dev/null` time against the
whole `inv backup` (upload included), the backup's peak RSS at two database sizes, the
object bytes a second unchanged backup uploads, and the database restore against plain
`pg_restore` of a `pg_dump -Fc` file. Targets (issue 6): backup <= 0.5 x pg_dump -Fc, peak
RSS < 150 MB and flat, 0 bytes re-uploaded, restore <= 1.25 x pg_restore. The stack is
removed at the end; exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from minio import Minio  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from shipyard.envfile.init import new_env_text  # noqa: E402
from shipyard.envfile.load import read_env_file  # noqa: E402
from tests.integration.support import logical_only_config  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
PROJECT = "docstore-bench"
BUCKET = "bench-backups"
PLAIN_DUMP = "/tmp/plain.dump"  # noqa: S108 - inside the db container


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Bench:
    def __init__(self, scratch: Path, s3: str) -> None:
        self.port = free_port()
        self.env_file = scratch / ".env"
        url = f"http://127.0.0.1:{self.port}"
        text = new_env_text("local", public_url=url) + (
            f"BACKUP_S3_ENDPOINT={s3}\nBACKUP_S3_ACCESS_KEY=Ab1{os.urandom(10).hex()}\n"
            f"BACKUP_S3_SECRET_KEY=Ab1{os.urandom(20).hex()}\nBACKUP_S3_BUCKET={BUCKET}\n"
        )
        self.env_file.write_text(text)
        self.env_file.chmod(0o600)
        self.values = read_env_file(self.env_file)
        # moto on 127.0.0.1 is out of the db container's reach: no WAL archiving
        self.runtime_config = logical_only_config("local", scratch)
        self.env = {
            **os.environ,
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_PROJECT": PROJECT,
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_ENV_FILE": str(self.env_file),
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_PUBLIC_URL": url,
            "INVOKE_RUNTIME_CONFIG": str(self.runtime_config),
        }

    def inv(self, *args: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
        """Run inv; (result, seconds, peak RSS in bytes of the largest process of its tree)."""
        import threading

        started = time.monotonic()
        process = subprocess.Popen(
            [INV, *args],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        output: dict[str, str] = {}

        def drain(name: str, pipe) -> None:
            output[name] = pipe.read()

        readers = [
            threading.Thread(target=drain, args=("out", process.stdout)),
            threading.Thread(target=drain, args=("err", process.stderr)),
        ]
        for reader in readers:
            reader.start()
        # wait4 reports the child's peak RSS, or that of its largest reaped descendant
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        for reader in readers:
            reader.join()
        code = os.waitstatus_to_exitcode(status)
        process.returncode = code
        if code != 0:
            raise SystemExit(f"inv {' '.join(args)} failed:\n{output.get('err', '')}")
        result = subprocess.CompletedProcess(args, code, output["out"], output["err"])
        return result, seconds, usage.ru_maxrss * 1024

    def published_s3(self) -> str:
        """Where compose published the in-stack object store's S3 API (127.0.0.1:PORT)."""
        argv = [*self.compose_base(), "port", "objectstore", "9000"]
        return subprocess.run(
            argv, cwd=ROOT, env=self.env, capture_output=True, text=True, check=True
        ).stdout.strip()

    def compose_base(self) -> list[str]:
        return [
            "docker", "compose", "--project-name", PROJECT, "--env-file", str(self.env_file),
            "--file", "compose/compose.yaml", "--file", "compose/compose.local.yaml",
        ]  # fmt: skip

    def db(self, *command: str, stdin: str | None = None) -> float:
        """A command in the db container; its wall time."""
        argv = [*self.compose_base(), "exec", "-T", "db", *command]
        started = time.monotonic()
        subprocess.run(argv, cwd=ROOT, env=self.env, input=stdin, text=True, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        return time.monotonic() - started

    def sql(self, sql: str, database: str | None = None) -> float:
        user, db = self.values["POSTGRES_USER"], database or self.values["POSTGRES_DB"]
        return self.db("psql", "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-qc", sql)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--random-mb", type=int, default=500)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    s3_port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    server.start()
    s3 = f"127.0.0.1:{s3_port}"
    Minio(s3, access_key="bench", secret_key="bench-any", secure=False).make_bucket(  # noqa: S106
        BUCKET
    )
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as scratch:
        bench = Bench(Path(scratch), s3)
        try:
            print("setting up the bench stack (inv setup) ...", file=sys.stderr)
            bench.inv("setup")
            user, name = bench.values["POSTGRES_USER"], bench.values["POSTGRES_DB"]
            print(f"pgbench -i -s {args.scale} ...", file=sys.stderr)
            bench.db("pgbench", "-q", "-i", "-s", str(args.scale), "-U", user, name)
            _, _, small_rss = bench.inv("backup", "--json", "--no-prune")
            figures["peak_rss_mb_pgbench_only"] = small_rss / 1e6

            print(f"{args.random_mb} MB of gen_random_bytes, {args.objects} objects ...",
                  file=sys.stderr)  # fmt: skip
            bench.sql("CREATE EXTENSION IF NOT EXISTS pgcrypto")
            rows = int(args.random_mb) * 1024
            create = (
                "CREATE TABLE random_bytes AS SELECT g AS id, gen_random_bytes(1024) AS payload"
            )
            bench.sql(f"{create} FROM generate_series(1, {rows}) g")
            app = Minio(bench.published_s3(), access_key=bench.values["S3_ACCESS_KEY"],
                        secret_key=bench.values["S3_SECRET_KEY"], secure=False)  # fmt: skip
            for number in range(args.objects):
                data = os.urandom(1024 + (number * 37) % 20000)
                app.put_object("documents", f"bench/{number:05d}", io.BytesIO(data), len(data))
            query = f"SELECT pg_database_size('{name}')"
            size = subprocess.run(
                [*bench.compose_base(), "exec", "-T", "db", "psql", "-U", user, "-d", name,
                 "-Atc", query],
                cwd=ROOT, env=bench.env, capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            figures["database_mb"] = int(size) / 1e6

            print("pg_dump -Fc > /dev/null (default compression) ...", file=sys.stderr)
            figures["pg_dump_fc_seconds"] = bench.db(
                "sh", "-c", f"pg_dump -U {user} -d {name} -Fc > /dev/null"
            )
            print("inv backup ...", file=sys.stderr)
            result, seconds, rss = bench.inv("backup", "--json", "--no-prune")
            first = json.loads(result.stdout)["backup"]
            figures["backup_seconds"] = seconds
            figures["backup_stored_mb"] = first["database"]["stored_bytes"] / 1e6
            figures["peak_rss_mb"] = rss / 1e6
            figures["first_backup_object_bytes_uploaded"] = first["objects"]["uploaded_bytes"]
            result, _, _ = bench.inv("backup", "--json", "--no-prune")
            second = json.loads(result.stdout)["backup"]
            figures["second_backup_object_bytes_uploaded"] = second["objects"]["uploaded_bytes"]

            print("pg_restore of a pg_dump -Fc file into a new database ...", file=sys.stderr)
            bench.db("sh", "-c", f"pg_dump -U {user} -d {name} -Fc -f {PLAIN_DUMP}")
            bench.sql("CREATE DATABASE plain_restore", database="postgres")
            figures["pg_restore_seconds"] = bench.db(
                "pg_restore", "-U", user, "-d", "plain_restore", "--no-owner", "--no-acl",
                "--exit-on-error", PLAIN_DUMP,
            )  # fmt: skip
            bench.sql("DROP DATABASE plain_restore", database="postgres")
            bench.db("rm", "-f", PLAIN_DUMP)
            figures["restore_seconds"] = _library_restore(bench, second["id"])
        finally:
            subprocess.run([INV, "down", "--volumes", "--yes"], cwd=ROOT, env=bench.env,
                           capture_output=True, check=False)  # fmt: skip
            server.stop()
    figures["backup_vs_pg_dump"] = figures["backup_seconds"] / figures["pg_dump_fc_seconds"]
    figures["restore_vs_pg_restore"] = figures["restore_seconds"] / figures["pg_restore_seconds"]
    targets = {
        "backup <= 0.5 x pg_dump -Fc": figures["backup_vs_pg_dump"] <= 0.5,
        "peak RSS < 150 MB": figures["peak_rss_mb"] < 150,
        "0 object bytes re-uploaded": figures["second_backup_object_bytes_uploaded"] == 0,
        "restore <= 1.25 x pg_restore": figures["restore_vs_pg_restore"] <= 1.25,
    }
    if args.json:
        print(json.dumps({"figures": figures, "targets": targets}, indent=2))
    else:
        print(f"database: {figures['database_mb']:.0f} MB (pgbench scale {args.scale},"
              f" {args.random_mb} MB random bytes), {args.objects} objects")  # fmt: skip
        print(f"pg_dump -Fc > /dev/null      {figures['pg_dump_fc_seconds']:7.1f} s")
        print(f"inv backup (upload included) {figures['backup_seconds']:7.1f} s"
              f"  ({figures['backup_vs_pg_dump']:.2f} x; {figures['backup_stored_mb']:.0f} MB"
              " stored)")  # fmt: skip
        print(
            f"peak RSS                     {figures['peak_rss_mb']:7.0f} MB"
            f"  (pgbench tables only: {figures['peak_rss_mb_pgbench_only']:.0f} MB)"
        )
        print(f"second backup, objects       {figures['second_backup_object_bytes_uploaded']:7d}"
              " bytes uploaded")  # fmt: skip
        print(f"plain pg_restore             {figures['pg_restore_seconds']:7.1f} s")
        print(f"restore (stream, swap)       {figures['restore_seconds']:7.1f} s"
              f"  ({figures['restore_vs_pg_restore']:.2f} x)")  # fmt: skip
        for target, met in targets.items():
            print(f"{'met   ' if met else 'MISSED'} {target}")
    return 0 if all(targets.values()) else 1


def _library_restore(bench: Bench, backup_id: str) -> float:
    """The database part of `inv restore`: stream, decompress, pg_restore, hash, swap."""
    for key, value in bench.env.items():
        os.environ[key] = value
    from shipyard.backup.context import open_backup
    from shipyard.backup.restore import restore_database
    from shipyard.config import load_config

    config = load_config()
    logical_only = yaml.safe_load(bench.runtime_config.read_text(encoding="utf-8"))
    config.environments["local"].update(
        project=PROJECT,
        env_file=str(bench.env_file),
        public_url=f"http://127.0.0.1:{bench.port}",
        compose_files=logical_only["shipyard"]["environments"]["local"]["compose_files"],
    )
    ctx = open_backup(config, "local")
    manifest = ctx.catalog.manifest(backup_id)
    started = time.monotonic()
    restore_database(ctx.site, ctx.catalog, manifest, lambda _text: None)
    return time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
