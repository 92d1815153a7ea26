"""prometheus.yml for a set of scrape targets (pure).

The compose profile renders it with the services' names (`app:8000`, ...), the end-to-end
tests with 127.0.0.1 ports; the jobs and their labels are the same, so the rules and the
dashboards see the same series in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class ScrapeTargets:
    """host:port of each exporter, and what the blackbox exporter probes."""

    app: Sequence[str]
    postgres: str
    node: str
    blackbox: str
    ready_url: str
    """The public readiness URL (PUBLIC_URL/ready), probed through the blackbox exporter."""
    alertmanager: str
    prometheus: str
    nginx: str | None = None
    backup_store: str | None = None
    """host:port of the backup S3 endpoint, probed with a TCP connect when set."""


@dataclass(frozen=True)
class Intervals:
    """Scrape and evaluation intervals (15 s in production; shorter only in tests)."""

    scrape: str = "15s"
    evaluation: str = "15s"
    scrape_timeout: str = "10s"


@dataclass(frozen=True)
class PrometheusSettings:
    """Everything prometheus.yml depends on."""

    targets: ScrapeTargets
    environment: str
    rule_files: Sequence[str]
    intervals: Intervals = field(default_factory=Intervals)


def _static(job: str, targets: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"job_name": job, **extra, "static_configs": [{"targets": list(targets)}]}


def _probe(job: str, module: str, target: str, exporter: str) -> dict[str, Any]:
    """A blackbox job: `instance` is the probed target, the exporter does the probing."""
    return {
        "job_name": job,
        "metrics_path": "/probe",
        "params": {"module": [module]},
        "static_configs": [{"targets": [target]}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": exporter},
        ],
    }


def prometheus_config(settings: PrometheusSettings) -> dict[str, Any]:
    """prometheus.yml as a mapping."""
    targets, intervals = settings.targets, settings.intervals
    jobs = [
        _static("prometheus", [targets.prometheus]),
        _static("alertmanager", [targets.alertmanager]),
        _static("app", targets.app),
        _static("postgres", [targets.postgres]),
        _static("node", [targets.node]),
        _static("blackbox", [targets.blackbox]),
        _probe("blackbox-http", "http_ready", targets.ready_url, targets.blackbox),
    ]
    if targets.nginx:
        jobs.append(_static("nginx", [targets.nginx]))
    if targets.backup_store:
        jobs.append(
            _probe("blackbox-backup", "tcp_connect", targets.backup_store, targets.blackbox)
        )
    return {
        "global": {
            "scrape_interval": intervals.scrape,
            "scrape_timeout": intervals.scrape_timeout,
            "evaluation_interval": intervals.evaluation,
            "external_labels": {"env": settings.environment},
        },
        "rule_files": list(settings.rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [targets.alertmanager]}]}]},
        "scrape_configs": jobs,
    }


def render_prometheus(settings: PrometheusSettings) -> str:
    """prometheus.yml text (no secret in it)."""
    header = "# Rendered by Shipyard (shipyard/monitoring/prometheus.py); do not edit.\n"
    return header + yaml.safe_dump(prometheus_config(settings), sort_keys=False)
