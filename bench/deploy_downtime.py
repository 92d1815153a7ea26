"""Requests dropped while the app changes version on the sandbox VM: during `inv deploy`,
during `inv rollback`, during `inv secrets.rotate` (a new database password, then a new
object store key), and (the
baseline) during a plain `docker compose up -d --force-recreate app` with nginx's live
socket pointed at the new container once it listens.
Prints, for each: requests sent, failed, retried, and the longest gap between two
successful answers.

The load is one client thread sending GET /version to the VM's nginx on 127.0.0.1 every
40 ms, for as long as the operation runs plus one second (at most 300 s), on one keep-alive
connection. "Retried" counts GETs whose idle keep-alive connection nginx closed just as they
were sent (an nginx reload does that; a deploy reloads nginx only when its config changed):
sent again once on a new connection, as browsers, curl and Go do (RFC 9112 section 9.3.1); a
client without that retry (Python's requests, Node's http) would have seen those as errors.
"Failed" is every request that still got no 200. The script
starts its own sandbox VM (`shipyard-sandbox-bench`, free ports) and removes it at the end.

    .venv/bin/python bench/deploy_downtime.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipyard.deploy.plan import APP_SERVICE, point_socket_argv  # noqa: E402
from shipyard.deploy.switch import containers  # noqa: E402
from shipyard.vm.releases import current_release  # noqa: E402
from shipyard.vm.target import Target  # noqa: E402
from tests.e2e.deploy_support import Poller, build_app_version, deploy  # noqa: E402
from tests.e2e.support import IsolatedSandbox, running_sandbox  # noqa: E402
from tests.integration.support import run_inv  # noqa: E402

INTERVAL = 0.04
"""About 25 requests a second: half of nginx's per-client rate limit (50 r/s), which the
smoke checks, sent from the same address, must stay under."""


def under_load(sandbox: IsolatedSandbox, operation: Callable[[], None]) -> dict[str, float]:
    """Run `operation` while polling the public URL; the figures of that window."""
    with Poller(sandbox.public_url, interval=INTERVAL) as poller:
        operation()
        time.sleep(1)
    return {
        "sent": poller.sent,
        "failed": len(poller.failed),
        "retried": len(poller.retried),
        "longest_gap_s": round(poller.longest_gap, 3),
    }


def must(result) -> None:  # type: ignore[no-untyped-def]
    """Stop the benchmark when a step fails, with its output."""
    if result.returncode != 0:
        raise SystemExit(f"{result.args} failed:\n{result.stdout}\n{result.stderr}")


def compose_recreate(sandbox: IsolatedSandbox) -> None:
    """The naive way: recreate the app container in place, then point nginx at it as soon
    as it listens (the best a recreate can do: no health wait before traffic)."""
    target = Target(sandbox.environment(), sandbox.runner())
    release = current_release(target)
    assert release is not None
    project = target.project(release)
    argv = [*project.base(), "up", "--detach", "--no-deps", "--force-recreate", APP_SERVICE]
    target.run(argv, "docker compose up -d --force-recreate app", timeout=300)
    (app,) = containers(target, APP_SERVICE, running_only=True)
    deadline = time.monotonic() + 60
    while not target.probe(point_socket_argv(app)).ok:
        if time.monotonic() > deadline:
            raise SystemExit(f"{app} never listened on its socket")
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_sandbox(Path(workdir), "shipyard-sandbox-bench") as sandbox,
    ):
        print("first deploy (not measured) ...", file=sys.stderr)
        must(deploy(sandbox))
        tag = build_app_version(sandbox, "0.2.0")
        figures["inv deploy"] = under_load(sandbox, lambda: must(deploy(sandbox, "--version", tag)))
        figures["inv rollback"] = under_load(
            sandbox, lambda: must(run_inv("rollback", "--env", "sandbox", env=sandbox.overrides()))
        )
        rotate = ("secrets.rotate", "--env", "sandbox", "--name", "POSTGRES_PASSWORD")
        figures["inv secrets.rotate (POSTGRES_PASSWORD)"] = under_load(
            sandbox, lambda: must(run_inv(*rotate, env=sandbox.overrides()))
        )
        store_key = ("secrets.rotate", "--env", "sandbox", "--name", "S3_SECRET_KEY")
        figures["inv secrets.rotate (S3_SECRET_KEY)"] = under_load(
            sandbox, lambda: must(run_inv(*store_key, env=sandbox.overrides()))
        )
        figures["compose up -d --force-recreate (baseline)"] = under_load(
            sandbox, lambda: compose_recreate(sandbox)
        )
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'operation':<44} {'sent':>6} {'failed':>7} {'retried':>8} {'longest gap':>12}")
    for name, row in figures.items():
        print(
            f"{name:<44} {row['sent']:>6} {row['failed']:>7} {row['retried']:>8}"
            f" {row['longest_gap_s']:>10.3f} s"
        )
    print("retried: keep-alive connection closed by nginx as it was sent, sent again (RFC 9112)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
