"""The dashboard as code: the committed JSON is what the code builds, every panel the issue
asks for is there, and every query is valid PromQL (promtool parses it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.monitoring.dashboards import (
    DATASOURCE_UID,
    DEPLOY_MARKER,
    PANELS,
    dashboard_json,
    for_prometheus,
)
from shipyard.monitoring.layout import DASHBOARD_FILE, GRAFANA_DIR
from tests.unit.monitoring.support import run_tool

REQUIRED = {
    "Request rate",
    "Latency",
    "Error rate (5xx)",
    "Database connections",
    "API status",
    "Database status",
    "Host CPU",
    "Host memory",
    "Host disk",
    "Backup age",
    "Certificate days left",
    "Running version (deploys and rollbacks)",
}


def test_committed_dashboard_is_what_the_code_builds() -> None:
    assert DASHBOARD_FILE.read_text() == dashboard_json(), (
        "stale: run .venv/bin/python -m shipyard.monitoring.dashboards"
    )


def test_every_required_panel_and_the_deploy_marker() -> None:
    board = json.loads(dashboard_json())
    assert {panel["title"] for panel in board["panels"]} >= REQUIRED
    assert board["annotations"]["list"][0]["expr"] == DEPLOY_MARKER.expr
    latency = next(panel for panel in board["panels"] if panel["title"] == "Latency")
    assert [target["legendFormat"] for target in latency["targets"]] == ["p50", "p95", "p99"]


def test_panels_use_the_provisioned_datasource() -> None:
    board = json.loads(dashboard_json())
    assert {panel["datasource"]["uid"] for panel in board["panels"]} == {DATASOURCE_UID}
    provisioned = (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    assert f"uid: {DATASOURCE_UID}" in provisioned


@pytest.mark.parametrize(
    "expr",
    [query.expr for panel in PANELS for query in panel.queries] + [DEPLOY_MARKER.expr],
)
def test_every_query_parses(expr: str, tmp_path: Path) -> None:
    rules = tmp_path / "parse.yml"
    rules.write_text(
        json.dumps(
            {
                "groups": [
                    {
                        "name": "parse",
                        "rules": [{"record": "parse:check", "expr": for_prometheus(expr)}],
                    }
                ]
            }
        )
    )
    result = run_tool("promtool", "check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
