"""The rendered prometheus.yml: valid for `promtool check config` with the shipped rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from shipyard.monitoring.layout import BLACKBOX_CONFIG, RULES_DIR, rule_files
from shipyard.monitoring.prometheus import PrometheusSettings, ScrapeTargets, render_prometheus
from tests.unit.monitoring.support import run_tool

TARGETS = ScrapeTargets(
    app=["app:8000"],
    postgres="postgres-exporter:9187",
    node="node-exporter:9100",
    blackbox="blackbox-exporter:9115",
    ready_url="https://docs.example.com/ready",
    alertmanager="alertmanager:9093",
    prometheus="localhost:9090",
    nginx="nginx-exporter:9113",
    backup_store="backups.example.com:443",
)


def test_promtool_accepts_the_rendered_config(tmp_path: Path) -> None:
    (tmp_path / "rules").symlink_to(RULES_DIR)
    config = tmp_path / "prometheus.yml"
    settings = PrometheusSettings(
        targets=TARGETS, environment="production", rule_files=rule_files()
    )
    config.write_text(render_prometheus(settings))
    result = run_tool("promtool", "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "rules found" in result.stdout


def test_fifteen_second_scrapes_and_a_probe_of_the_public_url() -> None:
    settings = PrometheusSettings(targets=TARGETS, environment="staging", rule_files=rule_files())
    config = yaml.safe_load(render_prometheus(settings))
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["external_labels"] == {"env": "staging"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {
        "prometheus",
        "alertmanager",
        "app",
        "postgres",
        "node",
        "blackbox",
        "blackbox-http",
        "nginx",
        "blackbox-backup",
    }
    probe = jobs["blackbox-http"]
    assert probe["static_configs"] == [{"targets": ["https://docs.example.com/ready"]}]
    assert probe["relabel_configs"][-1]["replacement"] == "blackbox-exporter:9115"


def test_blackbox_config_is_valid() -> None:
    result = run_tool(
        "prometheus-blackbox-exporter", f"--config.file={BLACKBOX_CONFIG}", "--config.check"
    )
    assert result.returncode == 0, result.stdout + result.stderr
