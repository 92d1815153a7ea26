"""The monitoring profile's pure parts: compose project, targets, rendered files, status
parsing, the test alert's amtool command line and the SSH forward."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import yaml

from shipyard.config import load_config
from shipyard.monitoring.profile import (
    COMPOSE_FILE,
    INTERNAL_READY_URL,
    monitoring_project,
    ready_url,
    render_files,
    scrape_targets,
)
from shipyard.monitoring.runtime import TEST_ALERT, amtool_alert_argv, find_container_argv
from shipyard.monitoring.status import parse_status
from shipyard.monitoring.tunnel import Forward, forward_argv


def test_the_profile_adds_its_file_and_profile() -> None:
    env = load_config().environment("production")
    project = monitoring_project(env)
    assert project.files[-1] == COMPOSE_FILE
    assert project.profiles[-1] == "monitoring"
    assert "--profile" in project.base()


def test_blackbox_probes_the_public_url_or_nginx_inside_the_stack() -> None:
    assert ready_url("https://docs.example.com") == "https://docs.example.com/ready"
    assert ready_url("http://127.0.0.1:8080") == INTERNAL_READY_URL
    targets = scrape_targets("https://docs.example.com", {"BACKUP_S3_ENDPOINT": "s3.example:443"})
    assert targets.backup_store == "s3.example:443"
    assert scrape_targets("https://x.example", {}).backup_store is None


def test_rendered_files_alertmanager_is_private(tmp_path: Path) -> None:
    env = load_config().environment("production")
    values = {"ALERT_EMAIL_TO": "ops@example.com", "ALERT_SMTP_SMARTHOST": "smtp.example:587",
              "ALERT_SMTP_PASSWORD": "smtp-secret-123456"}  # fmt: skip
    prometheus, alertmanager, *secret_files = render_files(env, values, tmp_path)
    for private in (alertmanager, *secret_files):
        assert stat.S_IMODE(private.stat().st_mode) == 0o400
    config = yaml.safe_load(prometheus.read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/shipyard.rules.yml"]
    assert config["global"]["external_labels"] == {"env": "production"}
    assert "smtp-secret-123456" not in prometheus.read_text()


def test_status_parsing() -> None:
    targets = {"data": {"activeTargets": [
        {"labels": {"job": "postgres", "instance": "postgres-exporter:9187"}, "health": "down",
         "lastError": "connection refused"},
        {"labels": {"job": "app", "instance": "app:8000"}, "health": "up", "lastError": ""},
    ]}}  # fmt: skip
    alerts = {"data": {"alerts": [
        {"labels": {"alertname": "TargetDown", "severity": "warning"}, "state": "pending",
         "annotations": {"summary": "down"}},
    ]}}  # fmt: skip
    status = parse_status(targets, alerts)
    assert [target.job for target in status.targets] == ["app", "postgres"]
    assert not status.all_up
    assert status.as_dict()["alerts"][0]["name"] == "TargetDown"


def test_container_lookup_uses_compose_labels() -> None:
    argv = find_container_argv("docstore", "prometheus")
    assert "label=com.docker.compose.project=docstore" in argv
    assert "label=com.docker.compose.service=prometheus" in argv


def test_test_alert_goes_through_amtool_and_ends_by_itself() -> None:
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    argv = amtool_alert_argv("abc123", "staging", "critical", now)
    assert argv[:6] == ["docker", "exec", "abc123", "amtool", "alert", "add"]
    assert f"alertname={TEST_ALERT}" in argv and "severity=critical" in argv
    assert "--end=2026-12-03T10:05:00Z" in argv


def test_ssh_forward_to_loopback_only_with_the_environments_known_hosts() -> None:
    env = load_config().environment("sandbox")
    argv = forward_argv(env, [Forward("prometheus", 49153, 9090)])
    assert argv[:2] == ["ssh", "-N"]
    assert "127.0.0.1:9090:127.0.0.1:49153" in argv
    assert f"UserKnownHostsFile={env.known_hosts_file}" in argv
    assert argv[-1] == "deploy@127.0.0.1"
