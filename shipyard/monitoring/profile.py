"""The monitoring compose profile of an environment: its compose project, the scrape
targets by service name, and the rendered configuration files (prometheus.yml, and
alertmanager.yml with its secrets, mode 0400 for the container's user only)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.compose import ComposeProject, project_for
from shipyard.config import PROJECT_ROOT, Environment
from shipyard.images.catalog import MONITORING_CATALOG
from shipyard.monitoring.alertmanager import receivers_from_env, render_alertmanager
from shipyard.monitoring.layout import rule_files
from shipyard.monitoring.prometheus import PrometheusSettings, ScrapeTargets, render_prometheus

PROFILE = "monitoring"
COMPOSE_FILE = PROJECT_ROOT / "compose" / "compose.monitoring.yaml"
IMAGE_KEYS = tuple(image.key for image in MONITORING_CATALOG)
GRAFANA = "grafana"
CONTAINER_UID = 65534
"""nobody: the user Prometheus, Alertmanager and the exporters run as (upstream and stand-ins)."""
GRAFANA_UID = 472

PORTS = {"prometheus": 9090, "alertmanager": 9093, "grafana": 3000}
"""Container ports published on 127.0.0.1 (at a port Docker picks)."""

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
INTERNAL_READY_URL = "http://nginx:8080/ready"
"""What the blackbox exporter probes when the public URL is this machine's loopback (from
inside a container, 127.0.0.1 is the container itself)."""


def monitoring_project(env: Environment) -> ComposeProject:
    """The environment's compose project with the monitoring file and profile added."""
    base = project_for(env)
    return replace(base, files=(*base.files, COMPOSE_FILE), profiles=(*base.profiles, PROFILE))


def config_dir(env: Environment) -> Path:
    """Where this machine keeps the rendered configuration of `env`'s profile."""
    return PROJECT_ROOT / ".shipyard" / "monitoring" / env.project


def ready_url(public_url: str) -> str:
    """The readiness URL the blackbox exporter probes for a public URL."""
    host = urlsplit(public_url).hostname or ""
    if host in LOOPBACK:
        return INTERNAL_READY_URL
    return public_url.rstrip("/") + "/ready"


def scrape_targets(public_url: str, values: dict[str, str]) -> ScrapeTargets:
    """The profile's targets, by compose service name."""
    return ScrapeTargets(
        app=["app:8000"],
        postgres="postgres-exporter:9187",
        node="node-exporter:9100",
        blackbox="blackbox-exporter:9115",
        ready_url=ready_url(public_url),
        alertmanager="alertmanager:9093",
        prometheus="localhost:9090",
        nginx="nginx-exporter:9113",
        backup_store=values.get("BACKUP_S3_ENDPOINT") or None,
    )


def render_files(env: Environment, values: dict[str, str], directory: Path) -> list[Path]:
    """Write prometheus.yml, alertmanager.yml and the secret files for `env` into
    `directory`; their paths. Everything but prometheus.yml holds secrets (write_private).
    """
    directory.mkdir(parents=True, exist_ok=True)
    settings = PrometheusSettings(
        targets=scrape_targets(env.public_url, values),
        environment=env.name,
        rule_files=[f"/etc/prometheus/{name}" for name in rule_files()],
    )
    prometheus = directory / "prometheus.yml"
    prometheus.write_text(render_prometheus(settings))
    prometheus.chmod(0o644)
    private = {
        "alertmanager.yml": (render_alertmanager(receivers_from_env(values)), CONTAINER_UID),
        "postgres_password": (values.get("POSTGRES_PASSWORD", ""), CONTAINER_UID),
        "grafana_admin_password": (values.get("GRAFANA_ADMIN_PASSWORD", ""), GRAFANA_UID),
    }
    written = [prometheus]
    for name, (text, owner) in private.items():
        written.append(write_private(directory / name, text, owner))
    return written


def write_private(path: Path, text: str, owner: int) -> Path:
    """Write a secret-holding file: a temporary file created mode 0400, owned by the
    container user `owner` when run as root, then renamed into place."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.unlink(missing_ok=True)
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    if os.geteuid() == 0:
        os.chown(temp, owner, owner)
    temp.replace(path)
    return path


def compose_variables(
    directory: Path, textfile_dir: Path, images: dict[str, str]
) -> dict[str, str]:
    """Variables the monitoring compose file reads besides the env file."""
    return {
        **images,
        "SHIPYARD_MONITORING_DIR": str(directory),
        "SHIPYARD_TEXTFILE_DIR": str(textfile_dir),
    }
