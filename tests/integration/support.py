"""Helpers for the integration tests: isolated stacks, and `inv` run as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from shipyard.config import PITR_COMPOSE_FILE, PROJECT_ROOT, Environment, load_config

INV = str(Path(sys.executable).with_name("inv"))
_OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_"


def build_image(dockerfile: str, ref: str) -> str:
    """Build `ref` from a Dockerfile given as text (no context; classic builder, which
    needs no BuildKit); returns `ref`."""
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", ref, "-"],
        input=dockerfile,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        capture_output=True,
        check=True,
    )
    return ref


def test_project(name: str) -> str:
    """A compose project name for a test session: `name`, plus SHIPYARD_TEST_SUFFIX when
    set, so two checkouts can run their integration tests on one engine at once."""
    suffix = os.environ.get("SHIPYARD_TEST_SUFFIX", "")
    return f"{name}-{suffix}" if suffix else name


def logical_only_config(env_name: str, directory: Path) -> Path:
    """An Invoke runtime config file (INVOKE_RUNTIME_CONFIG) that runs `env_name` without
    compose.pitr.yaml. For backup stores on this machine's 127.0.0.1 (moto): the database
    container cannot reach them, so `inv env.check` refuses them while WAL archiving is on
    (pitr-loopback-store). Logical backups are what such runs are about;
    tests/integration/backup/test_pitr.py and tests/e2e/test_pitr_sandbox.py archive WAL to
    stores the database reaches."""
    files = load_config().environment(env_name).compose_files
    kept = [str(file) for file in files if file.name != PITR_COMPOSE_FILE]
    config = {"shipyard": {"environments": {env_name: {"compose_files": kept}}}}
    path = directory / f"logical-only-{env_name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def remove_project(project: str) -> None:
    """Remove every container, volume and network labelled with compose project `project`
    (containers first: they hold the others)."""
    label = f"label=com.docker.compose.project={project}"
    for listing, removal in (
        (["container", "ls", "--all"], ["container", "rm", "--force", "--volumes"]),
        (["volume", "ls"], ["volume", "rm", "--force"]),
        (["network", "ls"], ["network", "rm"]),
    ):
        listed = subprocess.run(
            ["docker", *listing, "--quiet", "--filter", label],
            capture_output=True,
            text=True,
            check=True,
        )
        if listed.stdout.split():
            subprocess.run(
                ["docker", *removal, *listed.stdout.split()], capture_output=True, check=True
            )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class IsolatedLocal:
    """The `local` environment under another compose project, port and env file.

    Tests never touch a developer's own stack: `inv` gets the differences through
    Invoke's environment-variable overrides of invoke.yaml.
    """

    project: str
    env_file: Path
    port: int

    @property
    def public_url(self) -> str:
        """Where nginx answers."""
        return f"http://127.0.0.1:{self.port}"

    def overrides(self) -> dict[str, str]:
        """Environment variables that point `inv --env local` at this stack."""
        return {
            f"{_OVERRIDE}PROJECT": self.project,
            f"{_OVERRIDE}ENV_FILE": str(self.env_file),
            f"{_OVERRIDE}PUBLIC_URL": self.public_url,
        }

    def setup(self) -> subprocess.CompletedProcess[str]:
        """`inv setup` of this stack, after removing what an interrupted earlier run left
        under its project name (a volume made with another password would refuse it)."""
        remove_project(self.project)
        return run_inv("setup", env=self.overrides())

    def environment(self) -> Environment:
        """The same environment as a library object."""
        local = load_config().environment("local")
        return local.model_copy(
            update={
                "project": self.project,
                "env_file": self.env_file,
                "public_url": self.public_url,
            }
        )


def run_inv(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """Run `inv ARGS` from the repository root, with no standard input."""
    return subprocess.run(
        [INV, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def wait_all_targets_up(read_status: Callable[[], dict], timeout: float) -> dict:
    """Poll `inv monitoring.status --json` (as `read_status` runs it) every 5 s until every
    Prometheus target is up; the last report, or a failed assertion naming those down."""
    deadline = time.monotonic() + timeout
    report = read_status()
    while not report["all_up"] and time.monotonic() < deadline:
        time.sleep(5)
        report = read_status()
    down = [t for t in report["targets"] if t["health"] != "up"]
    assert report["all_up"], f"targets not up after {timeout} s: {down}"
    return report


@contextmanager
def s3_server(bucket: str) -> Iterator[str]:
    """A real S3 API (moto server) on 127.0.0.1 holding an empty `bucket`; yields host:port."""
    from minio import Minio
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"127.0.0.1:{port}"
    try:
        Minio(endpoint, access_key="x" * 20, secret_key="y" * 40, secure=False).make_bucket(bucket)
        yield endpoint
    finally:
        server.stop()
