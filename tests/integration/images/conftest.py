"""The stand-ins are built (from cold when missing) once per session, by the library itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.images.catalog import CATALOG
from shipyard.images.standins import build_standins
from tests.integration.images.support import Sandbox


@pytest.fixture(scope="session")
def standins() -> dict[str, str]:
    """key -> stand-in tag, after building the Debian base and every missing stand-in."""
    results = build_standins(stream=False)
    assert [result.key for result in results] == [image.key for image in CATALOG]
    return {result.key: result.tag for result in results}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    try:
        yield box
    finally:
        box.close()
