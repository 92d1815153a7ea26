"""Alertmanager's rendered configuration: valid for amtool, routed by severity, inhibiting
the error-rate alert while the API is down, and secret-free when nothing is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shipyard.monitoring.alertmanager import (
    Receivers,
    alertmanager_config,
    receivers_from_env,
    render_alertmanager,
)
from shipyard.monitoring.layout import ALERTMANAGER_TEMPLATES
from tests.unit.monitoring.support import run_tool

FULL_ENV = {
    "ALERT_EMAIL_TO": "oncall@example.com",
    "ALERT_EMAIL_FROM": "alerts@example.com",
    "ALERT_SMTP_SMARTHOST": "smtp.example.com:587",
    "ALERT_SMTP_USERNAME": "alerts",
    "ALERT_SMTP_PASSWORD": "smtp-password-123456",
    "ALERT_PAGERDUTY_ROUTING_KEY": "0123456789abcdef0123456789abcdef",
    "ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
    "ALERT_SLACK_CHANNEL": "#ops",
    "ALERT_WEBHOOK_URL": "https://hooks.example.com/alerts",
}


def write(tmp_path: Path, receivers: Receivers) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(
        render_alertmanager(receivers, templates=str(ALERTMANAGER_TEMPLATES / "*.tmpl"))
    )
    return path


def route(config: Path, *labels: str) -> str:
    result = run_tool("amtool", "config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    "values", [FULL_ENV, {}, {"ALERT_EMAIL_TO": "a@example.com", "ALERT_SMTP_SMARTHOST": "m:25"}]
)
def test_amtool_accepts_the_rendered_config(tmp_path: Path, values: dict[str, str]) -> None:
    result = run_tool("amtool", "check-config", str(write(tmp_path, receivers_from_env(values))))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_routes_by_severity(tmp_path: Path) -> None:
    config = write(tmp_path, receivers_from_env(FULL_ENV))
    assert route(config, "alertname=DatabaseDown", "severity=critical") == "critical"
    assert route(config, "alertname=HostDiskSpaceLow", "severity=warning") == "warning"
    assert route(config, "alertname=Unlabelled") == "default"


def test_critical_pages_and_mails_warning_mails_and_slacks() -> None:
    config = alertmanager_config(receivers_from_env(FULL_ENV))
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert set(receivers["critical"]) == {
        "name",
        "pagerduty_configs",
        "email_configs",
        "webhook_configs",
    }
    assert set(receivers["warning"]) == {
        "name",
        "email_configs",
        "slack_configs",
        "webhook_configs",
    }
    assert receivers["critical"]["pagerduty_configs"][0]["send_resolved"] is True
    assert receivers["warning"]["slack_configs"][0]["channel"] == "#ops"


def test_api_down_inhibits_the_error_rate_alert() -> None:
    rules = alertmanager_config(Receivers())["inhibit_rules"]
    assert {
        "source_matchers": ['alertname="ApiDown"'],
        "target_matchers": ['alertname="HighErrorRate"'],
    } in rules


def test_nothing_configured_renders_no_secret_and_no_receiver_config() -> None:
    text = render_alertmanager(receivers_from_env({}))
    config = yaml.safe_load(text)
    assert all(set(receiver) == {"name"} for receiver in config["receivers"])
    assert "smtp" not in text


def test_secrets_are_in_the_rendered_file_only() -> None:
    receivers = receivers_from_env(FULL_ENV)
    text = render_alertmanager(receivers)
    assert FULL_ENV["ALERT_SMTP_PASSWORD"] in text
    assert receivers.channels() == ["email", "pagerduty", "slack", "webhook"]
    assert FULL_ENV["ALERT_SMTP_PASSWORD"] not in repr(receivers.channels())
