"""End-to-end tests: one sandbox VM per session, started by `inv sandbox.up` itself.

Nothing skips: when Docker or the VM image cannot be had, the session fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.support import IsolatedSandbox, running_sandbox


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is marked `e2e`."""
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IsolatedSandbox]:
    """`inv sandbox.up` once for the session; `inv sandbox.down` at the end."""
    try:
        with running_sandbox(tmp_path_factory.mktemp("sandbox")) as isolated:
            yield isolated
    except AssertionError as exc:
        pytest.fail(str(exc), pytrace=False)
