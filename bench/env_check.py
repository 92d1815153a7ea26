"""Print how long `inv env.check` takes, from process start to exit, as a user runs it.
Run: .venv/bin/python bench/env_check.py [--runs N] [--json]

The real CLI runs N times on a fresh production env file (written by `new_env_text`, so the
check passes and every rule runs); the median is compared with the 0.5 s budget, and the
exit code is 1 when it is over.
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

from shipyard.envfile.init import new_env_text  # noqa: E402

BUDGET_SECONDS = 0.5
INV = Path(sys.executable).with_name("inv")


def inv_command(scratch: Path) -> list[str]:
    """`inv` with the repository's collection once it registers `env`, else a scratch one."""
    listing = subprocess.run(
        [str(INV), "--list"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if "env.check" in listing.stdout:
        return [str(INV)]
    module = scratch / "envtasks.py"
    module.write_text(
        "from invoke import Collection\n\nfrom tasks import env\n\nns = Collection(env)\n"
    )
    return [str(INV), "--search-root", str(scratch), "--collection", "envtasks"]


def timed_run(command: list[str]) -> float:
    """Seconds one run takes; the run must pass."""
    started = time.perf_counter()
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="timed runs (default 9)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as scratch:
        env_file = Path(scratch) / ".env.production"
        env_file.write_text(new_env_text("production"), encoding="utf-8")
        env_file.chmod(0o600)
        command = inv_command(Path(scratch))
        command += ["env.check", "--env", "production", "--file", str(env_file)]
        timed_run(command)  # warm the page cache and the bytecode cache
        times = [timed_run(command) for _ in range(args.runs)]

    median = statistics.median(times)
    figures = {
        "command": "inv env.check --env production --file .env.production",
        "runs": args.runs,
        "median_seconds": round(median, 3),
        "min_seconds": round(min(times), 3),
        "max_seconds": round(max(times), 3),
        "budget_seconds": BUDGET_SECONDS,
        "within_budget": median < BUDGET_SECONDS,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        verdict = "within" if figures["within_budget"] else "OVER"
        print(f"{figures['command']}: median {median:.3f} s over {args.runs} runs")
        print(f"  min {min(times):.3f} s, max {max(times):.3f} s")
        print(f"  budget {BUDGET_SECONDS} s: {verdict}")
    if not figures["within_budget"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
