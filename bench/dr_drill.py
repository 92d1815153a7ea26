"""Measure what the disaster-recovery plan promises (docs/disaster-recovery.md) and print it.
Run: .venv/bin/python bench/dr_drill.py [--documents 300] [--kib 64] [--drills 3] [--json]

A stack of its own (`inv setup` under the compose project docstore-drbench-<suffix>, free
ports) gets `--documents` documents of `--kib` KiB of random bytes through the public URL;
the backup store is a moto S3 server on 127.0.0.1. Printed: the `inv backup` time (the part
of the RPO beyond the schedule's interval), then `inv dr.drill` `--drills` times: the
recovery time it reports (throwaway stack, restore, smoke checks), the restore alone, the
whole command's wall time, and how many drills failed (on a loaded machine a drill's smoke
check can miss /ready's 1.5 s budget). The stack is removed at the end. No target is
asserted: the figures back the RPO/RTO table of docs/disaster-recovery.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from minio import Minio  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from shipyard.envfile.init import new_env_text  # noqa: E402
from tests.integration.support import logical_only_config  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
BUCKET = "drbench-backups"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(
    env: dict[str, str], *args: str, check: bool = True
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`inv ARGS` against the bench's stack; (result, wall seconds). Exits on a failure
    unless `check` is false."""
    started = time.monotonic()
    result = subprocess.run(
        [INV, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if check and result.returncode != 0:
        sys.exit(f"inv {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result, seconds


def main() -> int:
    """Set up, fill, back up, drill, print, tear down."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--kib", type=int, default=64)
    parser.add_argument("--drills", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    suffix = os.environ.get("SHIPYARD_TEST_SUFFIX") or str(os.getpid())
    s3_port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    server.start()
    s3 = f"127.0.0.1:{s3_port}"
    Minio(s3, access_key="x" * 20, secret_key="y" * 40, secure=False).make_bucket(BUCKET)
    figures: dict[str, float] = {"documents": args.documents, "kib_each": args.kib}
    figures["load_average_at_start"] = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="shipyard-drbench-") as scratch:
        url = f"http://127.0.0.1:{free_port()}"
        env_file = Path(scratch) / ".env"
        env_file.write_text(
            new_env_text("local", public_url=url)
            + f"BACKUP_S3_ENDPOINT={s3}\nBACKUP_S3_ACCESS_KEY=Ab1{os.urandom(10).hex()}\n"
            f"BACKUP_S3_SECRET_KEY=Ab1{os.urandom(20).hex()}\nBACKUP_S3_BUCKET={BUCKET}\n",
            encoding="utf-8",
        )
        env_file.chmod(0o600)
        env = {
            **os.environ,
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_PROJECT": f"docstore-drbench-{suffix}",
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_ENV_FILE": str(env_file),
            "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_PUBLIC_URL": url,
            # moto on 127.0.0.1 is out of the db container's reach: no WAL archiving
            "INVOKE_RUNTIME_CONFIG": str(logical_only_config("local", Path(scratch))),
        }
        try:
            print("inv setup ...", file=sys.stderr)
            _, figures["setup_seconds"] = run(env, "setup")
            print(f"{args.documents} documents of {args.kib} KiB ...", file=sys.stderr)
            with httpx.Client(base_url=url, timeout=30) as client:
                for number in range(args.documents):
                    response = client.post(
                        "/documents", params={"title": f"drbench {number}"},
                        content=os.urandom(args.kib * 1024),
                        headers={"Content-Type": "application/octet-stream"},
                    )  # fmt: skip
                    response.raise_for_status()
            print("inv backup ...", file=sys.stderr)
            result, figures["backup_seconds"] = run(env, "backup", "--json", "--no-prune")
            backup = json.loads(result.stdout)["backup"]
            figures["backup_stored_mb"] = (
                backup["database"]["stored_bytes"] + backup["objects"]["uploaded_bytes"]
            ) / 1e6
            recoveries, restores, walls, failures = [], [], [], 0
            for number in range(args.drills):
                print(f"inv dr.drill ({number + 1}/{args.drills}) ...", file=sys.stderr)
                result, wall = run(env, "dr.drill", "--json", check=False)
                if result.returncode != 0:
                    failures += 1
                    print(f"drill failed: {result.stderr.strip()[-500:]}", file=sys.stderr)
                    continue
                report = json.loads(result.stdout)
                recoveries.append(report["recovery_seconds"])
                restores.append(report["restore_seconds"])
                walls.append(wall)
            figures["drills_failed"] = failures
            if recoveries:
                figures["drill_recovery_seconds_median"] = statistics.median(recoveries)
                figures["drill_recovery_seconds_max"] = max(recoveries)
                figures["drill_restore_seconds_median"] = statistics.median(restores)
                figures["drill_wall_seconds_median"] = statistics.median(walls)
        finally:
            subprocess.run([INV, "down", "--volumes", "--yes"], cwd=ROOT, env=env,
                           capture_output=True, check=False)  # fmt: skip
            server.stop()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name:32} {value:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
