"""Every dashboard panel returns data: a stack behind nginx with TLS, under bounded traffic,
scraped by the real Prometheus; each panel's PromQL runs against it, and a panel whose
query returns nothing fails the test by name. Grafana itself cannot run here: the data its
panels would draw is the tested contract (docs/monitoring.md)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator

import httpx
import pytest

from shipyard.monitoring.dashboards import DEPLOY_MARKER, PANELS, PanelSpec, for_prometheus
from tests.integration.monitoring.support import ObservedStack, observed_stack, wait_until

REQUESTS = 300
"""Bounded traffic: this many requests through nginx, spread over about 30 seconds."""


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedStack]:
    with observed_stack(tmp_path_factory.mktemp("dashboards"), with_edge=True) as stack:
        assert stack.ca is not None
        paths = ["/health", "/ready", "/version", "/no-such-page"]
        trust = ssl.create_default_context(cafile=str(stack.ca))
        with httpx.Client(base_url=stack.public_url, verify=trust, timeout=5) as client:
            for number in range(REQUESTS):
                client.get(paths[number % len(paths)])
                time.sleep(0.1)
        yield stack


def test_every_target_is_up(observed: ObservedStack) -> None:
    last: dict[str, str] = {}

    def all_up() -> bool:
        last.update(observed.targets_up())
        return set(last.values()) == {"up"}

    wait_until(all_up, 60, "every scrape target up")
    assert set(last.values()) == {"up"}, last
    assert set(observed.targets_up()) >= {"app", "postgres", "node", "nginx", "blackbox-http"}


@pytest.mark.parametrize("panel", PANELS, ids=[panel.title for panel in PANELS])
def test_panel_returns_data(observed: ObservedStack, panel: PanelSpec) -> None:
    for query in panel.queries:
        expr = for_prometheus(query.expr)
        result = wait_until(lambda e=expr: observed.query(e), 30, f"panel {panel.title!r}: {expr}")
        assert result, f"panel {panel.title!r} returned nothing for {expr}"


def test_deploy_marker_marks_the_start_of_the_running_version(observed: ObservedStack) -> None:
    """The app's first start is a deploy: the marker query has series at that moment."""
    end = time.time()
    response = httpx.get(
        f"{observed.prometheus_url}/api/v1/query_range",
        params={"query": DEPLOY_MARKER.expr, "start": end - 600, "end": end, "step": "2s"},
        timeout=10,
    ).json()
    assert response["status"] == "success", response
    assert response["data"]["result"], "no deploy marker over the stack's lifetime"
    assert "version" in response["data"]["result"][0]["metric"]


def test_certificate_days_left_is_the_test_certificate(observed: ObservedStack) -> None:
    panel = next(panel for panel in PANELS if panel.title == "Certificate days left")
    days = float(observed.query(for_prometheus(panel.queries[0].expr))[0]["value"][1])
    assert 29 < days <= 30
