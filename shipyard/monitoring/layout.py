"""Where the monitoring configuration lives in the repository."""

from __future__ import annotations

from shipyard.config import PROJECT_ROOT

MONITORING_DIR = PROJECT_ROOT / "monitoring"
PROMETHEUS_DIR = MONITORING_DIR / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
RULE_TESTS_DIR = PROMETHEUS_DIR / "tests"
BLACKBOX_CONFIG = MONITORING_DIR / "blackbox" / "blackbox.yml"
ALERTMANAGER_TEMPLATES = MONITORING_DIR / "alertmanager" / "templates"
GRAFANA_DIR = MONITORING_DIR / "grafana"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "shipyard.json"
"""Generated from shipyard/monitoring/dashboards.py (`python -m shipyard.monitoring.dashboards`)."""
RUNBOOKS_DIR = PROJECT_ROOT / "docs" / "runbooks"


def rule_files() -> list[str]:
    """The rule files Prometheus loads, relative to the prometheus directory."""
    return sorted(f"rules/{path.name}" for path in RULES_DIR.glob("*.yml"))
