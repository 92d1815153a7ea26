"""How long deploys take on the sandbox VM, and how many bytes cross the wire.

Prints:
- the wall time of `inv deploy` of an image the VM already runs (a redeploy; the median of
  three) against the floor: `docker compose up -d --force-recreate --wait app` on the VM
  (container start plus health wait), and their ratio (target <= 1.3x); and against a
  stricter floor that polls /health and /ready itself instead of waiting for Docker's
  first health check (as Shipyard's gate does);
- image shipping by Shipyard (`shipyard.deploy.ship`) against a raw
  `docker save IMAGE | ssh VM docker load` of the same image (the VM lacks it both times);
- the bytes that reached the VM (its network interface's counter, SSH overhead included)
  while Shipyard shipped a code-only change (one more line in an app module), against the
  image's size (its `docker save` stream) and the size of the one layer that changed.

The script starts its own sandbox VM (`shipyard-sandbox-bench`, free ports) and removes it,
with the images it built, at the end.

    .venv/bin/python bench/deploy_time.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.deploy_downtime import must  # noqa: E402
from shipyard.deploy import ship  # noqa: E402
from shipyard.deploy.plan import APP_SERVICE, gate_probe_argv  # noqa: E402
from shipyard.deploy.switch import containers  # noqa: E402
from shipyard.images.engine import Engine  # noqa: E402
from shipyard.remote import LocalRunner  # noqa: E402
from shipyard.vm.releases import current_release  # noqa: E402
from shipyard.vm.target import Target  # noqa: E402
from tests.e2e.deploy_support import build_app_version, build_derived, deploy  # noqa: E402
from tests.e2e.support import IsolatedSandbox, running_sandbox  # noqa: E402

MB = 1_000_000
CODE_CHANGE = (
    'USER root\nRUN echo "# a code-only change" >> /app/docstore/__init__.py\nUSER 10001:10001'
)


def timed(action) -> float:  # type: ignore[no-untyped-def]
    """Seconds `action()` took."""
    started = time.monotonic()
    action()
    return time.monotonic() - started


def floor_seconds(target: Target) -> float:
    """`docker compose up -d --force-recreate --wait app` of the current release, on the VM."""
    release = current_release(target)
    assert release is not None
    argv = [*target.project(release).base(), "up", "--detach", "--no-deps", "--force-recreate"]
    argv += ["--wait", APP_SERVICE]
    return timed(lambda: target.run(argv, "compose up --wait app", timeout=300))


def probe_floor_seconds(target: Target) -> float:
    """`docker compose up -d --force-recreate app`, then /health and /ready probed from inside
    the container every 0.1 s until both answer: the floor without Docker's health interval."""
    release = current_release(target)
    assert release is not None
    argv = [*target.project(release).base(), "up", "--detach", "--no-deps", "--force-recreate"]

    def recreate_and_probe() -> None:
        target.run([*argv, APP_SERVICE], "compose up app", timeout=300)
        (container,) = containers(target, APP_SERVICE, running_only=True)
        deadline = time.monotonic() + 120
        while not target.probe(gate_probe_argv(container)).ok:
            assert time.monotonic() < deadline, f"{container} never became ready"
            time.sleep(0.1)

    return timed(recreate_and_probe)


def raw_ship_seconds(sandbox: IsolatedSandbox, ref: str) -> float:
    """`docker save REF | ssh VM docker load`, with the sandbox's key and host key."""
    ssh = (
        f"ssh -p {sandbox.ssh_port} -i {sandbox.key_file} -o BatchMode=yes "
        f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={sandbox.known_hosts} "
        "deploy@127.0.0.1 docker load --quiet"
    )
    command = ["bash", "-o", "pipefail", "-c", f"docker save {ref} | {ssh}"]
    return timed(lambda: subprocess.run(command, check=True, capture_output=True))


def saved_bytes(ref: str) -> int:
    """Bytes of the `docker save` stream of an image (what save | load ships)."""
    with subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE) as save:
        assert save.stdout is not None
        total = sum(len(chunk) for chunk in iter(lambda: save.stdout.read(1 << 20), b""))
    return total


def vm_received_bytes(sandbox: IsolatedSandbox) -> int:
    """Bytes the VM's network interface received so far (SSH and all: what crossed)."""
    argv = ["docker", "exec", sandbox.container, "cat", "/sys/class/net/eth0/statistics/rx_bytes"]
    return int(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    engine = Engine(LocalRunner(ROOT))
    built: list[str] = []
    figures: dict[str, float] = {}
    try:
        with (
            tempfile.TemporaryDirectory() as workdir,
            running_sandbox(Path(workdir), "shipyard-sandbox-bench") as sandbox,
        ):
            target = Target(sandbox.environment(), sandbox.runner())
            tag = build_app_version(sandbox, "0.2.0")
            built.append(tag)
            must(deploy(sandbox, "--version", tag))
            redeploys = sorted(
                timed(lambda: must(deploy(sandbox, "--version", tag))) for _ in range(3)
            )
            figures["redeploy_s"] = redeploys[1]
            figures["floor_s"] = floor_seconds(target)
            figures["probe_floor_s"] = probe_floor_seconds(target)

            ref, raw_ref = f"docstore-app:{tag}", "docstore-app:bench-raw"
            subprocess.run(["docker", "tag", ref, raw_ref], check=True)
            built.append("bench-raw")
            other = build_app_version(sandbox, "0.2.1")
            built.append(other)
            other_ref = f"docstore-app:{other}"
            figures["raw_ship_s"] = raw_ship_seconds(sandbox, other_ref)
            target.run(["docker", "image", "rm", other_ref], "removing the raw-shipped image")
            wanted = ship.local_ids(engine, [other_ref])
            figures["shipyard_ship_s"] = timed(lambda: ship.ship(target, wanted, engine))

            changed = build_derived(other, "0.2.1-code-change", CODE_CHANGE)
            built.append(changed)
            figures["image_bytes"] = saved_bytes(other_ref)
            received = vm_received_bytes(sandbox)
            ship.ship(target, ship.local_ids(engine, [f"docstore-app:{changed}"]), engine)
            figures["code_change_bytes_shipped"] = vm_received_bytes(sandbox) - received
            changed_size = engine.image_size(f"docstore-app:{changed}") or 0
            figures["code_change_layer_bytes"] = changed_size - (engine.image_size(other_ref) or 0)
            figures["code_change_save_load_bytes"] = saved_bytes(f"docstore-app:{changed}")
    finally:
        for name in reversed(built):  # children before the images they are built on
            subprocess.run(["docker", "image", "rm", f"docstore-app:{name}"], capture_output=True)
    report(figures, as_json=args.json)
    return 0


def report(figures: dict[str, float], *, as_json: bool) -> None:
    """Print the figures (a table, or JSON)."""
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    ratio = figures["redeploy_s"] / figures["floor_s"]
    share = figures["code_change_bytes_shipped"] / figures["image_bytes"]
    print(f"redeploy of an unchanged image   {figures['redeploy_s']:7.1f} s   (median of 3)")
    print(f"floor (compose up --wait app)    {figures['floor_s']:7.1f} s   ratio {ratio:.2f}x")
    strict = figures["redeploy_s"] / figures["probe_floor_s"]
    print(
        f"floor (compose up, /ready polled) {figures['probe_floor_s']:6.1f} s   ratio {strict:.2f}x"
    )
    print(f"image shipping, Shipyard (layers){figures['shipyard_ship_s']:7.1f} s")
    print(f"image shipping, save | ssh load  {figures['raw_ship_s']:7.1f} s")
    print(f"image (docker save stream)       {figures['image_bytes'] / MB:7.1f} MB")
    print(
        f"code-only change: reached the VM {figures['code_change_bytes_shipped'] / 1000:7.1f} kB"
        f"   {share:.2%} of the image (the changed layer: "
        f"{figures['code_change_layer_bytes'] / 1000:.1f} kB; save | load would carry "
        f"{figures['code_change_save_load_bytes'] / MB:.1f} MB)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
