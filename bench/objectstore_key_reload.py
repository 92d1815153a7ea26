"""Requests the object store stand-in drops while its keys change, against a restart.
Run: .venv/bin/python bench/objectstore_key_reload.py [--reloads 10] [--json]

One container of shipyard-local/objectstore (its own name, a free port on 127.0.0.1, an
anonymous volume), built first when missing. Four client threads (the minio SDK, signed
with the root key) put an object and read it back in a loop: three of 200 KB, one of 12 MiB
(a multipart upload). Measured while they run:
- `objectstore-keys add` then `remove` of another key, `--reloads` times (each one a
  SIGHUP that makes SeaweedFS read its identity file again): what a rotation does;
- one `docker restart` of the container: what changing a root key without the reload
  would cost.
Printed for each: round trips that succeeded, failed, and the seconds it took. The
container is removed at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minio import Minio  # noqa: E402

from shipyard.images.standins import build_standins  # noqa: E402
from tests.integration.support import free_port  # noqa: E402

ACCESS, SECRET = "BENCHROOTACCESSKEY01", "bench-root-secret-key-0123456789abcdef"
NAME = f"shipyard-bench-objkey-{os.getpid()}"
SIZES = (200_000, 200_000, 200_000, 12 * 1024 * 1024)


def docker(*args: str, stdin: bytes | None = None) -> None:
    """Run docker; exit with its error when it fails."""
    subprocess.run(["docker", *args], input=stdin, capture_output=True, check=True)


def under_load(client: Minio, operation: Callable[[], None]) -> dict[str, float]:
    """Run `operation` while the clients put and get; the figures of that window."""
    done, failed = [0], [0]
    stop = threading.Event()

    def loop(size: int, number: int) -> None:
        data, index = os.urandom(size), 0
        while not stop.is_set():
            key = f"c{number}-{index}"
            try:
                client.put_object("bench", key, io.BytesIO(data), size, part_size=5 * 2**20)
                if client.get_object("bench", key).read() != data:
                    raise ValueError("read back other bytes")
                done[0] += 1
            except Exception:  # every failure counts, whatever it is
                failed[0] += 1
                time.sleep(0.1)
            index += 1

    threads = [threading.Thread(target=loop, args=(s, n)) for n, s in enumerate(SIZES)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    started = time.monotonic()
    operation()
    seconds = time.monotonic() - started
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return {"ok": done[0], "failed": failed[0], "seconds": round(seconds, 2)}


def main() -> int:
    """Start the stand-in, measure reloads and a restart, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    (image,) = [r.tag for r in build_standins(["objectstore"], stream=False)]
    port = free_port()
    docker(
        "run", "--detach", "--name", NAME, "--publish", f"127.0.0.1:{port}:9000",
        "--env", f"MINIO_ROOT_USER={ACCESS}", "--env", f"MINIO_ROOT_PASSWORD={SECRET}",
        image,
    )  # fmt: skip
    try:
        client = Minio(f"127.0.0.1:{port}", access_key=ACCESS, secret_key=SECRET, secure=False)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.make_bucket("bench")
                break
            except Exception:  # not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

        def reloads() -> None:
            for number in range(args.reloads):
                extra = f"BENCHEXTRAKEY{number:07d}"
                keys = f"{extra}\nextra-secret-key-{number:020d}\n".encode()
                docker("exec", "-i", NAME, "objectstore-keys", "add", stdin=keys)
                docker(
                    "exec", "-i", NAME, "objectstore-keys", "remove", stdin=f"{extra}\n".encode()
                )

        figures = {
            f"{2 * args.reloads} reloads (objectstore-keys add/remove)": under_load(
                client, reloads
            ),
            "docker restart": under_load(client, lambda: docker("restart", NAME)),
        }
    finally:
        subprocess.run(["docker", "rm", "--force", NAME], capture_output=True, check=False)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'while':<44} {'ok':>6} {'failed':>7} {'seconds':>8}")
    for name, row in figures.items():
        print(f"{name:<44} {row['ok']:>6} {row['failed']:>7} {row['seconds']:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
