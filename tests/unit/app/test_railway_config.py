"""railway.toml against Railway's documented config-as-code fields, and against the app it
builds (the Dockerfile, the health path, the migration command)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
RAILWAY_TOML = ROOT / "railway.toml"

# Railway's documented config-as-code fields and their values, read on 2026-12-03 from
# https://docs.railway.com/config-as-code/reference (source: railwayapp/docs,
# src/docs/reference/config-as-code.md). `RAILPACK` is the builder the current page adds.
SOURCE = "https://docs.railway.com/config-as-code/reference"
TOP_LEVEL = {"$schema", "build", "deploy", "environments"}
BUILD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "builder": str,
    "watchPatterns": list,
    "buildCommand": str,
    "dockerfilePath": str,
    "nixpacksConfigPath": str,
    "nixpacksPlan": dict,
    "nixpacksVersion": str,
}
DEPLOY_FIELDS: dict[str, type | tuple[type, ...]] = {
    "startCommand": str,
    "preDeployCommand": (list, str),
    "multiRegionConfig": dict,
    "healthcheckPath": str,
    "healthcheckTimeout": int,
    "restartPolicyType": str,
    "restartPolicyMaxRetries": int,
    "cronSchedule": str,
    "overlapSeconds": (str, int),
    "drainingSeconds": (str, int),
}
BUILDERS = {"RAILPACK", "NIXPACKS", "DOCKERFILE"}
RESTART_POLICIES = {"ON_FAILURE", "ALWAYS", "NEVER"}


def _problems(section: str, values: dict[str, Any], fields: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in values.items():
        if key not in fields:
            problems.append(f"[{section}] {key} is not a documented field ({SOURCE})")
        elif not isinstance(value, fields[key]):
            problems.append(f"[{section}] {key} has the wrong type: {type(value).__name__}")
    return problems


def documented_problems(config: dict[str, Any], where: str = "") -> list[str]:
    """Every field or value of a railway.toml that Railway's reference does not document."""
    problems = [f"{where}{key} is not a documented section" for key in set(config) - TOP_LEVEL]
    build, deploy = config.get("build", {}), config.get("deploy", {})
    problems += _problems(f"{where}build", build, BUILD_FIELDS)
    problems += _problems(f"{where}deploy", deploy, DEPLOY_FIELDS)
    if build.get("builder", "DOCKERFILE") not in BUILDERS:
        problems.append(f"builder must be one of {sorted(BUILDERS)}")
    if deploy.get("restartPolicyType", "ON_FAILURE") not in RESTART_POLICIES:
        problems.append(f"restartPolicyType must be one of {sorted(RESTART_POLICIES)}")
    for name, override in config.get("environments", {}).items():
        problems += documented_problems(override, where=f"environments.{name}.")
    return problems


@pytest.fixture(scope="module")
def railway() -> dict[str, Any]:
    return tomllib.loads(RAILWAY_TOML.read_text(encoding="utf-8"))


def test_every_field_is_one_railway_documents(railway: dict[str, Any]) -> None:
    assert documented_problems(railway) == []


def test_the_checker_rejects_what_railway_does_not_document() -> None:
    bad = {
        "build": {"builder": "BUILDPACKS", "dockerFile": "x"},
        "deploy": {"healthcheckTimeout": "soon", "restartPolicyType": "SOMETIMES"},
        "services": {},
        "environments": {"pr": {"deploy": {"replicas": 2}}},
    }
    assert len(documented_problems(bad)) == 6


def test_it_builds_the_app_image_from_its_dockerfile(railway: dict[str, Any]) -> None:
    build = railway["build"]
    assert build["builder"] == "DOCKERFILE"
    dockerfile = ROOT / build["dockerfilePath"]
    assert dockerfile == ROOT / "app" / "Dockerfile"
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"' in dockerfile.read_text(encoding="utf-8")


def test_traffic_waits_for_readiness_and_a_crash_restarts(railway: dict[str, Any]) -> None:
    from docstore.api.health import router

    deploy = railway["deploy"]
    assert deploy["healthcheckPath"] == "/ready"
    assert "/ready" in {route.path for route in router.routes}
    assert deploy["restartPolicyType"] == "ON_FAILURE"
    assert 0 < deploy["restartPolicyMaxRetries"] <= 10  # the most the Free plan allows


def test_migrations_run_before_the_new_deployment_takes_traffic(railway: dict[str, Any]) -> None:
    assert railway["deploy"]["preDeployCommand"] == ["alembic upgrade head"]
    dockerfile = (ROOT / "app" / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY alembic.ini" in dockerfile
    assert "COPY migrations/" in dockerfile
