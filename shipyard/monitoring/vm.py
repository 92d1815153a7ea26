"""The monitoring profile on a VM, deployed with the release (docs/monitoring.md, On a VM).

When the env file's MONITORING is on (unset: on in staging and production), `inv deploy`
puts the profile's configuration in the release bundle: compose.monitoring.yaml, the rules,
templates, blackbox and Grafana files under `monitoring/`, and the rendered files under
`secrets/monitoring/` (prometheus.yml, alertmanager.yml with the receivers' secrets, the
exporter's database password, Grafana's admin password). The bundle crosses SSH on stdin
and is unpacked mode 0600, then each rendered file is given to its container's user, mode
0400: a secret is never in a process argument, a log line or `docker inspect`. After the
cut-over, the profile is (re)started from the release with `docker compose up --no-deps`
of its own services only: the app, nginx and the data services are never touched, and its
data stays in the project's named volumes, which outlive releases. Pure builders here; the
runner-facing steps are `start` and `remove`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from shipyard.compose import ComposeProject
from shipyard.config import Environment
from shipyard.envfile.rules import parse_bool
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.monitoring.alertmanager import receivers_from_env, render_alertmanager
from shipyard.monitoring.layout import MONITORING_DIR, rule_files
from shipyard.monitoring.profile import (
    COMPOSE_FILE,
    CONTAINER_UID,
    GRAFANA,
    GRAFANA_UID,
    PROFILE,
    SERVICES,
    scrape_targets,
)
from shipyard.monitoring.prometheus import PrometheusSettings, render_prometheus
from shipyard.oneoff import offline_sh_argv
from shipyard.vm.layout import Layout
from shipyard.vm.target import Target

VARIABLE = "MONITORING"
ON_BY_DEFAULT = frozenset({"staging", "production"})
"""Environments where an unset MONITORING means on."""
SERVICES_FILE = "monitoring/services"
"""In a release: the profile's services that deploy started, one a line."""
RENDERED_DIR = "secrets/monitoring"
"""In a release: the rendered files (SHIPYARD_MONITORING_DIR on the VM)."""
RENDERED_OWNERS: Mapping[str, int] = {
    "prometheus.yml": CONTAINER_UID,
    "alertmanager.yml": CONTAINER_UID,
    "postgres_password": CONTAINER_UID,
    "grafana_admin_password": GRAFANA_UID,
}
"""Each rendered file and the uid of the container that reads it (mode 0400)."""
WAIT_TIMEOUT = 180


def enabled(env_name: str, values: Mapping[str, str]) -> bool:
    """Whether `inv deploy` starts the profile: MONITORING, or on by default in staging and
    production (the env file's validation has refused any other spelling)."""
    value = (values.get(VARIABLE) or "").strip()
    if not value:
        return env_name in ON_BY_DEFAULT
    return bool(parse_bool(value))


def services(standins: bool, values: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The services to start, and those left out with the reason: Grafana only from its
    upstream image (no stand-in exists) and with an admin password (never admin/admin)."""
    if standins:
        return list(SERVICES), {GRAFANA: "its image has no stand-in (docs/images.md)"}
    if not values.get("GRAFANA_ADMIN_PASSWORD"):
        return list(SERVICES), {GRAFANA: "GRAFANA_ADMIN_PASSWORD is not set in the env file"}
    return [*SERVICES, GRAFANA], {}


def config_files() -> dict[str, tuple[bytes, int]]:
    """The profile's files from the repository, by their path in a release: the compose
    file beside the release's others, the monitoring/ tree (rules, templates, blackbox,
    Grafana provisioning and dashboards; the rules' unit tests stay behind)."""
    files = {f"compose/{COMPOSE_FILE.name}": (COMPOSE_FILE.read_bytes(), 0o644)}
    for path in sorted(MONITORING_DIR.rglob("*")):
        relative = path.relative_to(MONITORING_DIR)
        if path.is_file() and relative.parts[:2] != ("prometheus", "tests"):
            files[f"monitoring/{relative.as_posix()}"] = (path.read_bytes(), 0o644)
    return files


def rendered_files(env: Environment, values: Mapping[str, str]) -> dict[str, tuple[bytes, int]]:
    """The files rendered from the env file, by their path in a release, all mode 0600
    (they are given to their containers' users, 0400, on the VM: `own_argv`)."""
    settings = PrometheusSettings(
        targets=scrape_targets(env.public_url, dict(values)),
        environment=env.name,
        rule_files=[f"/etc/prometheus/{name}" for name in rule_files()],
    )
    texts = {
        "prometheus.yml": render_prometheus(settings),
        "alertmanager.yml": render_alertmanager(receivers_from_env(values)),
        "postgres_password": values.get("POSTGRES_PASSWORD", ""),
        "grafana_admin_password": values.get("GRAFANA_ADMIN_PASSWORD", ""),
    }
    return {f"{RENDERED_DIR}/{name}": (text.encode(), 0o600) for name, text in texts.items()}


def bundle_files(
    env: Environment, values: Mapping[str, str], started: Sequence[str]
) -> dict[str, tuple[bytes, int]]:
    """Everything the profile adds to a release bundle, the list of its services included."""
    listing = ("\n".join(started) + "\n").encode()
    return {
        **config_files(),
        **rendered_files(env, values),
        SERVICES_FILE: (listing, 0o644),
    }


def textfile_dir(env: Environment, metrics_dir: Path) -> str:
    """node-exporter's textfile directory on the VM: where `inv backup --env NAME` writes
    its metrics (backup.metrics_dir, relative to the deploy path)."""
    root = (env.deploy_path or "/").rstrip("/") or "/"
    return posixpath.join(root, metrics_dir.as_posix())


def compose_variables(layout: Layout, release: str, textfile: str) -> dict[str, str]:
    """What the release's `.env` adds for the profile (its images are among the deploy's
    image variables already): the rendered files' directory and the textfile directory."""
    return {
        "SHIPYARD_MONITORING_DIR": posixpath.join(layout.release(release), RENDERED_DIR),
        "SHIPYARD_TEXTFILE_DIR": textfile,
    }


@dataclass(frozen=True)
class Plan:
    """The profile as one deploy ships it."""

    services: list[str]
    left_out: dict[str, str]
    """Services not started, and why (Grafana without its image or password)."""
    textfile: str
    """node-exporter's textfile directory on the VM."""


def own_argv(layout: Layout, release: str, image: str) -> list[str]:
    """Give each rendered file of a release to its container's uid, mode 0400, from a
    one-off container of `image` with no network (the deploy user is not root)."""
    directory = posixpath.join(layout.release(release), RENDERED_DIR)
    commands = [f"chown {uid}:{uid} /rendered/{name}" for name, uid in RENDERED_OWNERS.items()]
    commands.append("chmod 0400 /rendered/*")
    return offline_sh_argv(
        image, " && ".join(commands), volumes=[f"{directory}:/rendered"], user="0:0"
    )


def project(release_project: ComposeProject) -> ComposeProject:
    """A release's compose project with the monitoring file and profile added."""
    files = release_project.files
    compose = release_project.files[0].parent / COMPOSE_FILE.name
    return replace(
        release_project,
        files=(*files, compose),
        profiles=(*release_project.profiles, PROFILE),
    )


def start_argv(profile: ComposeProject, started: Sequence[str], wait_timeout: int) -> list[str]:
    """(Re)start the profile's services and wait until they are healthy. Only they are
    named, with --no-deps: nothing else of the stack is started, stopped or recreated, and
    no --remove-orphans. A service whose configuration changed (a new release's files) is
    recreated; its data volume stays."""
    options = ["--detach", "--no-deps", "--no-build", "--wait", "--wait-timeout"]
    return [*profile.base(), "up", *options, str(wait_timeout), *started]


def prepare_textfile_argv(textfile: str) -> list[str]:
    """Create node-exporter's textfile directory (readable by its container's user)."""
    return ["mkdir", "-p", "-m", "0755", textfile]


def remove_argv(project_name: str) -> list[str]:
    """Stop and remove the profile's containers of a compose project (MONITORING turned
    off), printing their names; their data volumes stay. Nothing else is touched."""
    script = (
        'for s in "$@"; do for c in $(docker ps --all --quiet '
        '--filter "label=com.docker.compose.project=$0" '
        '--filter "label=com.docker.compose.service=$s"); do '
        'docker rm --force "$c" >/dev/null && echo "$s"; done; done'
    )
    return ["sh", "-c", script, project_name, *SERVICES, GRAFANA]


def read_services_argv(layout: Layout, release: str) -> list[str]:
    """The services file of a release (exit 1 when it was deployed without the profile)."""
    return ["cat", posixpath.join(layout.release(release), SERVICES_FILE)]


def start(target: Target, release: str, textfile: str) -> list[str]:
    """Start the profile from `release` on the VM; the services started. CommandFailedError
    (with compose's own words) when a service does not become healthy."""
    listing = target.probe(read_services_argv(target.layout, release))
    if not listing.ok:
        raise ConfigError(
            f"release {release} was deployed without the monitoring profile",
            hint="set MONITORING=true in the env file and `inv deploy` again",
        )
    started = listing.stdout.split()
    target.run(prepare_textfile_argv(textfile), "creating the textfile directory")
    argv = start_argv(project(target.project(release)), started, WAIT_TIMEOUT)
    result = target.probe(argv, timeout=WAIT_TIMEOUT + 120)
    if not result.ok:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
        raise CommandFailedError(
            f"the monitoring profile did not start: {' / '.join(detail) or 'no output'}",
            hint="read `docker logs` of the failing service on the VM, then"
            " `inv monitoring.up --env NAME`",
        )
    return started


def remove(target: Target) -> list[str]:
    """Remove the profile's containers from the VM (its volumes stay); the services removed."""
    result = target.run(remove_argv(target.env.project), "removing the monitoring profile")
    return result.stdout.split()
