"""How long `inv provision` takes on a fresh VM replica, and on a second run.

Prints the wall time of provisioning the bare sandbox VM (`inv sandbox.up --bare`: OpenSSH
and a sudo user, nothing else) from scratch, and of a second run, with the number of
operations that changed something each time. Targets: under 5 minutes from scratch, under
30 s with 0 changes.

Part of the first run's time is APT downloading packages from the Debian mirror; the replica
has no systemd, so unit reloads a real VM performs are not in these figures. The script
starts its own VM (`shipyard-sandbox-bench-provision`, free ports) and removes it at the end.

    .venv/bin/python bench/provision.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.support import IsolatedSandbox  # noqa: E402
from tests.integration.support import free_port, run_inv  # noqa: E402

CONTAINER = "shipyard-sandbox-bench-provision"
TARGET_FIRST_S = 300.0
TARGET_AGAIN_S = 30.0


def must(result: Any, what: str) -> Any:
    """The completed process, or exit with its output."""
    if result.returncode != 0:
        sys.exit(f"{what} failed:\n{result.stdout}\n{result.stderr}")
    return result


def provision(vm: IsolatedSandbox) -> tuple[float, dict[str, Any]]:
    """Seconds `inv provision --env sandbox --json` took (as a user runs it), and its report."""
    started = time.monotonic()
    result = must(
        run_inv("provision", "--env", "sandbox", "--json", env=vm.overrides()), "provision"
    )
    return time.monotonic() - started, json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-provision-") as tmp:
        vm = IsolatedSandbox(Path(tmp), free_port(), free_port(), CONTAINER)
        run_inv("sandbox.down", env=vm.overrides())
        must(run_inv("sandbox.up", "--bare", env=vm.overrides()), "inv sandbox.up --bare")
        try:
            first_s, first = provision(vm)
            again_s, again = provision(vm)
        finally:
            run_inv("sandbox.down", env=vm.overrides())
    figures = {
        "first_run_s": round(first_s, 1),
        "first_run_changed": len(first["changed"]),
        "second_run_s": round(again_s, 1),
        "second_run_changed": len(again["changed"]),
        "operations": len(again["changed"]) + len(again["unchanged"]),
        "targets": {"first_run_s": TARGET_FIRST_S, "second_run_s": TARGET_AGAIN_S},
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"first run:  {first_s:6.1f} s, {len(first['changed'])} of {figures['operations']} "
        f"operations changed something (target < {TARGET_FIRST_S:.0f} s)"
    )
    print(
        f"second run: {again_s:6.1f} s, {len(again['changed'])} changed "
        f"(target < {TARGET_AGAIN_S:.0f} s with 0 changes)"
    )


if __name__ == "__main__":
    main()
