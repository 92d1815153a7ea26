"""Layer-level image delivery over SSH: a registry on the deployer's 127.0.0.1 (Debian's
`docker-registry`, distribution 2.8) that the VM pulls from through an SSH reverse tunnel,
so only the layers the VM lacks cross the wire (Kamal's way, without a public registry).

The registry keeps its blobs under `.shipyard/registry/` between deploys, so a push uploads
only new layers too; after a delivery it keeps only what that delivery pushed
(`shipyard.deploy.layer_cache`). One delivery at a time uses it (a file lock: deploys of two
environments from one checkout wait for each other here). Both engines trust a registry on
127.0.0.0/8 without TLS by default.
When the `docker-registry` binary is missing, `shipyard.deploy.ship` falls back to
`docker save | docker load`.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from shipyard import console
from shipyard.config import PROJECT_ROOT
from shipyard.deploy import layer_cache
from shipyard.deploy.plan import sh
from shipyard.errors import CommandFailedError
from shipyard.remote import LocalRunner
from shipyard.vm.target import Target

REGISTRY_BINARY = "docker-registry"
REGISTRY_ROOT = PROJECT_ROOT / ".shipyard" / "registry"
START_TIMEOUT = 20.0
PULL_TIMEOUT = 1800


def registry_config(root: Path, port: int) -> str:
    """The registry's config: filesystem storage under `root`, HTTP on 127.0.0.1 only."""
    return (
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )


def tunnelled(port: int, ref: str) -> str:
    """The name of `ref` in the registry, the same on both ends of the tunnel."""
    return f"127.0.0.1:{port}/{ref}"


def push_argvs(port: int, ref: str) -> list[list[str]]:
    """Here: tag `ref` for the registry, push (only the layers it lacks), drop the tag."""
    name = tunnelled(port, ref)
    return [
        ["docker", "tag", ref, name],
        ["docker", "push", "--quiet", name],
        ["docker", "image", "rm", name],
    ]


def pull_argv(port: int, ref: str) -> list[str]:
    """On the VM: pull through the tunnel (only missing layers), tag as `ref`, drop the
    registry's name."""
    return sh(
        'docker pull --quiet "$1" >/dev/null && docker tag "$1" "$2" && '
        'docker image rm "$1" >/dev/null',
        tunnelled(port, ref),
        ref,
    )


def usable(target: Target) -> bool:
    """True when layer delivery can be used here (the registry binary is installed; every
    runner can forward the VM's port to ours)."""
    return shutil.which(REGISTRY_BINARY) is not None


def deliver(target: Target, refs: Sequence[str]) -> None:
    """Ship `refs` to the VM layer by layer through the local registry and a tunnel, then
    keep only them in the registry."""
    local = LocalRunner(PROJECT_ROOT)
    with registry_lock(REGISTRY_ROOT):
        with local_registry(REGISTRY_ROOT) as port:
            push(local, port, refs)
            with target.runner.forward_remote(port, port):
                for ref in refs:
                    with console.status(f"the VM pulls the layers of {ref} it lacks"):
                        argv = pull_argv(port, ref)
                        target.run(argv, f"pulling {ref}", timeout=PULL_TIMEOUT)
            trimmed = drop_older_images(port, refs)
        if trimmed:
            collect_garbage(local, REGISTRY_ROOT)


def push(local: LocalRunner, port: int, refs: Sequence[str]) -> None:
    """Push `refs` from this engine to the local registry (only the layers it lacks)."""
    for ref in refs:
        with console.status(f"pushing {ref} to the local registry"):
            for argv in push_argvs(port, ref):
                local.run(argv, timeout=PULL_TIMEOUT).raise_for_status(" ".join(argv[:2]))


def drop_older_images(port: int, refs: Sequence[str]) -> bool:
    """Delete the registry's manifests other than those of `refs`; True when any was
    deleted. A failure only warns: the images are on the VM already."""
    try:
        stale = layer_cache.stale_manifests(layer_cache.tagged_digests(port), refs)
        return layer_cache.delete_manifests(port, stale) > 0
    except httpx.HTTPError as exc:
        console.warn(f"could not trim the local registry ({exc}); it keeps older images")
        return False


def collect_garbage(local: LocalRunner, root: Path) -> None:
    """Remove the blobs no manifest references any more (with the registry stopped)."""
    argv = layer_cache.garbage_collect_argv(REGISTRY_BINARY, root / "config.yml")
    with console.status("trimming the local registry"):
        result = local.run(argv, timeout=PULL_TIMEOUT)
    if not result.ok:
        console.warn(
            f"could not trim the local registry: {REGISTRY_BINARY} garbage-collect exited "
            f"{result.exit_code}; it keeps older layers"
        )


@contextmanager
def registry_lock(root: Path) -> Iterator[None]:
    """Hold the local registry for one delivery (and its trim); waits for another."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with console.status("waiting for another deploy's use of the local registry"):
                fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def local_registry(root: Path) -> Iterator[int]:
    """Run the registry on a free port of 127.0.0.1 for the block; yields the port."""
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = root / "config.yml"
    config.write_text(registry_config(root, port), encoding="utf-8")
    log = (root / "registry.log").open("ab")
    process = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        _wait_until_up(port, process, root)
        yield port
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        process.kill()  # only if it ignored SIGTERM: a reaped process is not signalled
        process.wait()
        log.close()


def _wait_until_up(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandFailedError(
                f"{REGISTRY_BINARY} exited (code {process.returncode}); see {root}/registry.log"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise CommandFailedError(f"{REGISTRY_BINARY} did not answer on 127.0.0.1:{port}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
