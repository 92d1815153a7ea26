"""Stand-in builds: the exact compose command, the pip CA secret, skipping current images."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import PrerequisiteError
from shipyard.images import catalog, standins
from shipyard.images.catalog import BASE_TAG, COMPOSE_FILE
from shipyard.images.engine import Engine
from tests.unit.images.support import FakeDocker


def test_plan_build_exact_argv_and_environment(tmp_path):
    ca = tmp_path / "ca.pem"
    plan = standins.plan_build(catalog.get("postgres"), context_hash="abc123", ca_file=ca)
    assert plan.argv == [
        "docker",
        "compose",
        "--project-name",
        "shipyard-images",
        "--file",
        str(COMPOSE_FILE),
        "--progress",
        "plain",
        "build",
        "--build-arg",
        "SHIPYARD_CONTEXT_HASH=abc123",
        "postgres",
    ]
    assert plan.env == {
        "PIP_CA_BUNDLE": str(ca),
        "SHIPYARD_BASE_IMAGE": BASE_TAG,
        "DOCKER_BUILDKIT": "1",
    }


def test_plan_build_without_cache_and_with_terminal_progress(tmp_path):
    plan = standins.plan_build(
        catalog.get("python"),
        context_hash="h",
        ca_file=tmp_path,
        no_cache=True,
        progress="auto",
        base_image="other/debian:x",
    )
    assert plan.argv[-3:] == ["SHIPYARD_CONTEXT_HASH=h", "--no-cache", "python"]
    assert plan.argv[plan.argv.index("--progress") + 1] == "auto"
    assert plan.env["SHIPYARD_BASE_IMAGE"] == "other/debian:x"


def test_pip_ca_source_order(tmp_path):
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("A")
    second.write_text("B")
    assert standins.pip_ca_source({"PIP_CERT": str(second), "PIP_CA_BUNDLE": str(first)}) == first
    assert standins.pip_ca_source({"SSL_CERT_FILE": str(second)}) == second
    assert standins.pip_ca_source({"PIP_CA_BUNDLE": str(tmp_path / "missing")}) is None
    assert standins.pip_ca_source({}) is None


def test_pip_ca_file_is_an_empty_file_when_there_is_no_bundle():
    with standins.pip_ca_file({}) as path:
        assert path.is_file()
        assert path.read_bytes() == b""
    assert not path.exists()


def test_pip_ca_file_is_the_bundle_when_there_is_one(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("CERT")
    with standins.pip_ca_file({"PIP_CERT": str(bundle)}) as path:
        assert path == bundle.resolve()
    assert bundle.exists()


def test_context_hash_follows_content_mode_and_base(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    script = tmp_path / "entry.sh"
    script.write_text("#!/bin/sh\n")
    first = standins.context_hash(tmp_path)
    assert first == standins.context_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert standins.context_hash(tmp_path) == first
    script.chmod(0o755)
    second = standins.context_hash(tmp_path)
    assert second != first
    script.write_text("#!/bin/sh\necho\n")
    assert standins.context_hash(tmp_path) != second
    assert standins.context_hash(tmp_path, base_image="b:1") != standins.context_hash(tmp_path)


def test_is_current():
    assert standins.is_current({"io.shipyard.context-hash": "h"}, "h")
    assert not standins.is_current({"io.shipyard.context-hash": "old"}, "h")
    assert not standins.is_current({}, "h")
    assert not standins.is_current(None, "h")


def current_labels(key: str) -> dict[str, str]:
    return {"io.shipyard.context-hash": standins.context_hash(catalog.get(key).context)}


def test_build_skips_current_images_and_builds_the_rest_in_catalogue_order():
    docker = FakeDocker(
        {
            BASE_TAG: {},
            "shipyard-local/python:3.11": current_labels("python"),
            "shipyard-local/nginx:1.22": {"io.shipyard.context-hash": "stale"},
        }
    )
    results = standins.build_standins(engine=Engine(docker), stream=False, env={})
    assert [(r.key, r.action) for r in results] == [
        ("python", "present"),
        ("postgres", "built"),
        ("nginx", "built"),
        ("objectstore", "built"),
    ]
    builds = docker.commands(("docker", "compose", "--project-name"))
    assert [argv[-1] for argv in builds] == ["postgres", "nginx", "objectstore"]
    build_env = docker.envs[docker.calls.index(builds[0])]
    assert Path(build_env["PIP_CA_BUNDLE"]).name == "empty-ca.pem"


def test_force_rebuilds_current_images():
    docker = FakeDocker({BASE_TAG: {}, "shipyard-local/python:3.11": current_labels("python")})
    results = standins.build_standins(["python"], force=True, engine=Engine(docker), stream=False)
    assert [(r.key, r.action) for r in results] == [("python", "built")]


def test_nothing_to_build_touches_neither_base_nor_compose_build():
    docker = FakeDocker({"shipyard-local/nginx:1.22": current_labels("nginx")})
    results = standins.build_standins(["nginx"], engine=Engine(docker), stream=False)
    assert [r.action for r in results] == ["present"]
    assert docker.commands(("docker", "compose", "--project-name")) == []
    assert docker.commands(("docker", "image", "inspect", BASE_TAG)) == []


def test_engine_down_is_a_prerequisite_error_naming_the_fix():
    with pytest.raises(PrerequisiteError, match="Docker engine is not running") as caught:
        standins.build_standins(engine=Engine(FakeDocker(engine_up=False)), stream=False)
    assert "service docker start" in (caught.value.hint or "")
    assert caught.value.exit_code == 2


def test_missing_compose_is_a_prerequisite_error():
    with pytest.raises(PrerequisiteError, match="docker compose"):
        standins.build_standins(engine=Engine(FakeDocker(compose=False)), stream=False)


def test_missing_debootstrap_says_apt_get_install(monkeypatch):
    monkeypatch.setattr("shipyard.images.base.shutil.which", lambda name: None)
    with pytest.raises(PrerequisiteError, match="debootstrap is needed") as caught:
        standins.build_standins(["python"], engine=Engine(FakeDocker()), stream=False)
    assert caught.value.hint == "apt-get install debootstrap"
    assert caught.value.exit_code == 2
