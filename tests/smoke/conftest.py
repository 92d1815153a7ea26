"""The smoke suite's target, handed over by `inv smoke` (shipyard.checks.smoke) in the
environment. The checks live in `check_*.py`, which the main `pytest tests` run does not
collect (its file pattern is `test_*.py`): they need a running environment to aim at.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

URL_VARIABLE = "SHIPYARD_SMOKE_URL"


@dataclass(frozen=True)
class Target:
    """Where the checks aim and what they expect to find there."""

    url: str
    version: str | None
    git_sha: str | None
    ca_file: str | None = None
    cors_origin: str | None = None

    @property
    def https(self) -> bool:
        """True when the environment is reached over TLS."""
        return urlsplit(self.url).scheme == "https"


def pytest_configure(config: pytest.Config) -> None:
    """The markers the runner selects on."""
    config.addinivalue_line("markers", "burst: sends a short bounded burst (the 429 check)")
    config.addinivalue_line("markers", "https: only for an https:// URL")
    config.addinivalue_line("markers", "cors: only when the edge allows an origin (CORS_ORIGINS)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """TLS checks do not apply to an http:// URL, nor the allowed-origin CORS check to an
    edge that allows none: deselect them (the runner says so)."""
    url = os.environ.get(URL_VARIABLE, "")
    absent = set()
    if urlsplit(url).scheme != "https":
        absent.add("https")
    if not os.environ.get("SHIPYARD_SMOKE_CORS_ORIGIN"):
        absent.add("cors")
    here = Path(__file__).parent

    def not_applicable(item: pytest.Item) -> bool:
        marked = {mark for mark in absent if item.get_closest_marker(mark) is not None}
        return item.path.is_relative_to(here) and bool(marked)

    kept = [item for item in items if not not_applicable(item)]
    dropped = [item for item in items if not_applicable(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def target() -> Target:
    """The environment under test, from `inv smoke`."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.fail(f"{URL_VARIABLE} is not set: run the smoke suite with `inv smoke --env NAME`")
    return Target(
        url=url.rstrip("/"),
        version=os.environ.get("SHIPYARD_SMOKE_VERSION") or None,
        git_sha=os.environ.get("SHIPYARD_SMOKE_GIT_SHA") or None,
        ca_file=os.environ.get("SHIPYARD_SMOKE_CA_FILE") or None,
        cors_origin=os.environ.get("SHIPYARD_SMOKE_CORS_ORIGIN") or None,
    )


def tls_context(target: Target) -> ssl.SSLContext:
    """The system's CAs, plus the environment's test CA when `inv smoke` names one."""
    context = ssl.create_default_context()
    if target.ca_file:
        context.load_verify_locations(cafile=target.ca_file)
    return context


@pytest.fixture(scope="session")
def client(target: Target) -> Iterator[httpx.Client]:
    """One HTTP client for the session; redirects are not followed (they are checked)."""
    with httpx.Client(
        base_url=target.url, timeout=10.0, follow_redirects=False, verify=tls_context(target)
    ) as session:
        yield session


@pytest.fixture
def detail(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Record the one-line outcome the runner prints next to a passing check."""

    def record(text: str) -> None:
        record_property("detail", text)

    return record


def expect_status(response: httpx.Response, *statuses: int) -> None:
    """Assert the status, naming the request and the start of the body when it differs."""
    if response.status_code not in statuses:
        body = response.text.strip().replace("\n", " ")[:200]
        wanted = " or ".join(str(status) for status in statuses)
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, expected {wanted}: {body}"
        )


def ms(response: httpx.Response) -> str:
    """How long a response took, for details."""
    return f"{response.elapsed.total_seconds() * 1000:.0f} ms"
