"""An isolated stack for the gates, brought up by `inv setup` and removed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.integration.support import IsolatedLocal, free_port, run_inv, test_project


@dataclass(frozen=True)
class GatesStack:
    """The isolated environment and what `inv setup` printed while creating it."""

    isolated: IsolatedLocal
    setup_output: str

    def overrides(self) -> dict[str, str]:
        """Environment variables that point `inv --env local` at this stack."""
        return self.isolated.overrides()


@pytest.fixture(scope="session")
def gates_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatesStack]:
    """A stack of its own (project docstore-gates), torn down with its volumes afterwards."""
    env_file = tmp_path_factory.mktemp("gates") / ".env"
    isolated = IsolatedLocal(
        project=test_project("docstore-gates"), env_file=env_file, port=free_port()
    )
    result = isolated.setup()
    try:
        assert result.returncode == 0, f"inv setup failed:\n{result.stdout}\n{result.stderr}"
        yield GatesStack(isolated, result.stdout)
    finally:
        down = run_inv("down", "--volumes", "--yes", env=isolated.overrides())
        assert down.returncode == 0, down.stderr
