"""Two clones of the repository on one machine: each `inv setup` gets its own compose
project (named after its checkout), so neither touches the other's containers or
volumes; a port held by the other clone's stack is named in one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shipyard.config import PROJECT_ROOT, checkout_project
from tests.integration.support import free_port

INV = str(Path(sys.executable).with_name("inv"))
PUBLIC_URL = "INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_PUBLIC_URL"


@dataclass(frozen=True)
class Clone:
    """A clone of this repository's HEAD with a port of its own."""

    root: Path
    port: int

    @property
    def project(self) -> str:
        """The compose project its local stack should get."""
        return checkout_project("docstore", self.root)

    def inv(self, *args: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
        """`inv ARGS` run inside the clone, with the clone's own code and invoke.yaml."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("INVOKE_SHIPYARD_")
        }
        env.update(
            PYTHONPATH=str(self.root),
            **{PUBLIC_URL: f"http://127.0.0.1:{port or self.port}"},
        )
        return subprocess.run(
            [INV, *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            stdin=subprocess.DEVNULL,
            check=False,
        )


def _clone(destination: Path) -> Clone:
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(PROJECT_ROOT), str(destination)],
        check=True,
        capture_output=True,
    )
    return Clone(destination, free_port())


@pytest.fixture(scope="module")
def clones(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Clone, Clone]]:
    """Two clones, each after its own `inv setup`; both stacks removed at the end."""
    base = tmp_path_factory.mktemp("checkouts")
    first, second = _clone(base / "first"), _clone(base / "second")
    try:
        for clone in (first, second):
            result = clone.inv("setup")
            assert result.returncode == 0, f"inv setup failed:\n{result.stdout}\n{result.stderr}"
        yield first, second
    finally:
        for clone in (first, second):
            clone.inv("down", "--volumes", "--yes")


def _projects_running() -> set[str]:
    listed = subprocess.run(
        ["docker", "ps", "--format", '{{.Label "com.docker.compose.project"}}'],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(listed.stdout.split())


def test_each_clone_runs_its_own_stack_under_its_own_project(clones: tuple[Clone, Clone]):
    first, second = clones
    assert first.project != second.project
    assert {first.project, second.project} <= _projects_running()
    for clone in clones:
        health = httpx.get(f"http://127.0.0.1:{clone.port}/health", timeout=5)
        assert health.status_code == 200
        volumes = subprocess.run(
            ["docker", "volume", "ls", "--quiet", "--filter", f"name={clone.project}_"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert f"{clone.project}_pgdata" in volumes


def test_a_port_held_by_the_other_clone_is_named_and_nothing_starts(
    clones: tuple[Clone, Clone],
):
    first, second = clones
    result = second.inv("up", "--no-build", port=first.port)
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{first.port} is taken by compose project {first.project}" in result.stderr
    assert "Traceback" not in result.stderr
    # the second clone's stack is untouched: still up on its own port
    assert httpx.get(f"http://127.0.0.1:{second.port}/health", timeout=5).status_code == 200
