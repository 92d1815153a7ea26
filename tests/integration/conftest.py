"""Integration tests run on the real Docker engine; nothing here skips when it is missing."""

from __future__ import annotations

import subprocess

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is marked `integration`."""
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def docker_engine() -> None:
    """Fail loudly, never skip, when the engine is not there: ./scripts/bootstrap installs it."""
    result = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(
            "no Docker engine answers; run ./scripts/bootstrap first\n" + result.stderr,
            pytrace=False,
        )
