"""`docker compose config` is clean for every environment and keeps the stack's promises."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from shipyard.compose import ComposeProject, project_for
from shipyard.config import load_config
from shipyard.envfile.init import new_env_text

ENVIRONMENTS = sorted(load_config().environments)
UPSTREAM = {
    "db": "postgres:16",
    "nginx": "nginx:1.27",
    "objectstore": "minio/minio:RELEASE.2025-04-22T22-12-26Z",
}
IMAGE_VARIABLES = (
    "APP_IMAGE",
    "PYTHON_IMAGE",
    "POSTGRES_IMAGE",
    "NGINX_IMAGE",
    "OBJECTSTORE_IMAGE",
)


def render(env_name: str, tmp_path: Path) -> dict:
    env = load_config().environment(env_name)
    env_file = tmp_path / f".env.{env_name}"
    env_file.write_text(new_env_text(env_name), encoding="utf-8")
    project = project_for(env)
    project = ComposeProject(project.project, project.files, env_file, project.profiles)
    clean = {k: v for k, v in os.environ.items() if k not in IMAGE_VARIABLES}
    result = subprocess.run(
        project.config(), env=clean, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "warn" not in result.stderr.lower(), result.stderr
    return json.loads(result.stdout)


@pytest.fixture(params=ENVIRONMENTS)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict]:
    return request.param, render(request.param, tmp_path)


def test_every_service_has_health_restart_limits_and_log_rotation(config):
    _, rendered = config
    assert set(rendered["services"]) == {"app", "db", "nginx", "objectstore"}
    for name, service in rendered["services"].items():
        assert service["healthcheck"]["test"], name
        assert service["restart"] in ("unless-stopped", "always"), name
        limits = service["deploy"]["resources"]["limits"]
        assert limits["memory"] and limits["cpus"], name
        assert service["logging"]["options"]["max-size"], name


def test_dependencies_wait_for_health(config):
    _, rendered = config
    services = rendered["services"]
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["objectstore"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"


def test_networks_keep_data_services_away_from_nginx(config):
    _, rendered = config
    services = rendered["services"]
    assert set(services["nginx"]["networks"]) == {"frontend"}
    assert set(services["app"]["networks"]) == {"frontend", "backend"}
    # WAL archiving (compose.pitr.yaml) gives the database alone a way out, to the store
    archiving = "archive" in rendered["networks"]
    assert set(services["db"]["networks"]) == {"backend"} | ({"archive"} if archiving else set())
    assert set(services["objectstore"]["networks"]) == {"backend", "ops"}
    assert rendered["networks"]["backend"]["internal"] is True
    on_ops = {name for name, service in services.items() if "ops" in service["networks"]}
    assert on_ops == {"objectstore"}
    on_archive = {name for name, service in services.items() if "archive" in service["networks"]}
    assert on_archive == ({"db"} if archiving else set())


def test_non_root_users_and_read_only_roots(config):
    _, rendered = config
    services = rendered["services"]
    assert services["app"]["user"] == "10001:10001"
    assert services["db"]["user"] == "999:999"
    assert services["nginx"]["user"] == "101:101"
    assert services["app"]["read_only"] and services["nginx"]["read_only"]


def test_images_default_to_upstream(config):
    _, rendered = config
    services = rendered["services"]
    for name, image in UPSTREAM.items():
        assert services[name]["image"] == image
    assert services["app"]["build"]["args"]["PYTHON_IMAGE"] == "python:3.12-slim"


def test_data_lives_in_named_volumes(config):
    _, rendered = config
    assert {"pgdata", "objects"} <= set(rendered["volumes"])
    mounts = {m["source"] for m in rendered["services"]["db"]["volumes"]}
    assert mounts == {"pgdata"}


def test_published_ports_per_environment(config):
    name, rendered = config
    ports = rendered["services"]["nginx"]["ports"]
    # VMs publish https (8443 in the container) beside plain HTTP (docs/edge.md)
    assert [port["target"] for port in ports] == ([8080] if name == "local" else [8080, 8443])
    if name == "local":
        assert ports[0]["host_ip"] == "127.0.0.1"
    else:
        # the sandbox VM's nginx publishes the public URL's port (the container forwards it)
        assert ports[0]["published"] == ("18081" if name == "sandbox" else "80")
        assert rendered["services"]["app"]["pull_policy"] == "never"
    for service in ("app", "db"):
        assert "ports" not in rendered["services"][service]
    s3 = rendered["services"]["objectstore"]["ports"]
    # loopback only; the host port is Docker's choice unless S3_OPS_PORT fixes it
    assert [(port["host_ip"], port["target"], port.get("published")) for port in s3] == [
        ("127.0.0.1", 9000, None)
    ]
