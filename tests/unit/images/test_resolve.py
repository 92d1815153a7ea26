"""The image source switch: auto, upstream, local, and SHIPYARD_IMAGE_SOURCE."""

from __future__ import annotations

import pytest

from shipyard.errors import ConfigError, PrerequisiteError
from shipyard.images import catalog, resolve
from shipyard.images.catalog import CATALOG
from shipyard.images.engine import Engine
from tests.unit.images.support import FakeDocker

UPSTREAM = {image.variable: image.upstream for image in CATALOG}
RUNS_UPSTREAM = {image.variable: resolve.runs_for_upstream(image) for image in CATALOG}
DERIVED_PG = "shipyard-derived/postgres:16-pgbackrest"
LOCAL = {image.variable: image.standin for image in CATALOG}


def test_environment_overrides_the_configured_source():
    assert resolve.effective_source("auto", {"SHIPYARD_IMAGE_SOURCE": "Local"}) == "local"
    assert resolve.effective_source("upstream", {}) == "upstream"
    assert resolve.effective_source(None, {"SHIPYARD_IMAGE_SOURCE": " "}) == "auto"


def test_an_unknown_source_names_where_it_came_from():
    with pytest.raises(ConfigError, match="'dockerhub' \\(from SHIPYARD_IMAGE_SOURCE\\)") as e:
        resolve.effective_source("auto", {"SHIPYARD_IMAGE_SOURCE": "dockerhub"})
    assert e.value.exit_code == 2
    with pytest.raises(ConfigError, match=r"from shipyard\.images\.source in invoke\.yaml"):
        resolve.effective_source("registry", {})


def test_auto_prefers_present_then_pulled_then_stand_in_and_asks_lazily():
    asked = []

    def present(ref):
        asked.append(("present", ref))
        return ref == "python:3.12-slim"

    def pull(ref):
        asked.append(("pull", ref))
        return ref == "nginx:1.27"

    choices = resolve.plan_choices("auto", CATALOG, present=present, pull=pull)
    assert [(c.image.key, c.ref, c.origin) for c in choices] == [
        ("python", "python:3.12-slim", "upstream-present"),
        ("postgres", "shipyard-local/postgres:15", "stand-in"),
        ("nginx", "nginx:1.27", "upstream-pulled"),
        ("objectstore", "shipyard-local/objectstore:seaweedfs-4.48", "stand-in"),
    ]
    assert ("pull", "python:3.12-slim") not in asked


def test_upstream_and_local_never_probe():
    def boom(ref):
        raise AssertionError("probed")

    up = resolve.plan_choices("upstream", CATALOG, present=boom, pull=boom)
    assert [c.ref for c in up] == [image.upstream for image in CATALOG]
    local = resolve.plan_choices("local", CATALOG, present=boom, pull=boom)
    assert [c.ref for c in local] == [image.standin for image in CATALOG]


def test_the_stand_in_message_lists_each_replacement_once():
    choices = resolve.plan_choices(
        "auto", CATALOG, present=lambda ref: ref != "postgres:16", pull=lambda ref: False
    )
    message = resolve.standin_message(choices)
    assert message == (
        "no registry answered for postgres:16: using local stand-ins built from Debian "
        "packages (postgres:16 -> shipyard-local/postgres:15); see docs/images.md "
        "(set SHIPYARD_IMAGE_SOURCE=upstream to insist on upstream images)"
    )
    all_upstream = resolve.plan_choices("upstream", CATALOG, present=None, pull=None)
    assert resolve.standin_message(all_upstream) is None


def test_upstream_needs_no_engine_unless_it_derives_an_image():
    docker = FakeDocker(engine_up=False)
    no_db = ["python", "nginx", "objectstore"]
    assert resolve.resolve_images("upstream", keys=no_db, engine=Engine(docker), env={}) == {
        key: value for key, value in UPSTREAM.items() if key != "POSTGRES_IMAGE"
    }
    assert docker.calls == []
    with pytest.raises(PrerequisiteError) as caught:
        resolve.resolve_images("upstream", engine=Engine(docker), env={})
    assert caught.value.exit_code == 2


def test_upstream_postgres_runs_as_its_derivation_with_pgbackrest():
    assert RUNS_UPSTREAM == {**UPSTREAM, "POSTGRES_IMAGE": DERIVED_PG}
    docker = FakeDocker(pullable={"postgres:16"})
    assert resolve.resolve_images("upstream", keys=["postgres"], engine=Engine(docker), env={}) == {
        "POSTGRES_IMAGE": DERIVED_PG
    }
    assert docker.commands(("docker", "pull")) == [("docker", "pull", "--quiet", "postgres:16")]


def test_an_upstream_base_that_cannot_be_had_is_one_line_naming_it():
    docker = FakeDocker()
    with pytest.raises(PrerequisiteError, match=r"postgres:16 is not in the Docker engine"):
        resolve.resolve_images("upstream", keys=["postgres"], engine=Engine(docker), env={})
    assert docker.commands(("docker", "compose", "--project-name")) == []


def test_auto_without_registry_builds_and_names_every_stand_in(monkeypatch, capsys):
    built = []
    monkeypatch.setattr(
        resolve, "build_standins", lambda keys, **kw: built.append((list(keys), kw))
    )
    docker = FakeDocker()
    images = resolve.resolve_images("auto", engine=Engine(docker), env={})
    assert images == LOCAL
    assert built[0][0] == catalog.keys()
    assert len(docker.commands(("docker", "pull"))) == len(CATALOG)
    warning = capsys.readouterr().err
    assert warning.count("no registry answered") == 1
    assert "minio/minio" in warning


def test_auto_with_everything_upstream_builds_no_stand_in_and_derives_once(monkeypatch):
    monkeypatch.setattr(resolve, "build_standins", lambda *a, **k: pytest.fail("built"))
    docker = FakeDocker({image.upstream: {} for image in CATALOG})
    assert resolve.resolve_images("auto", engine=Engine(docker), env={}) == RUNS_UPSTREAM
    assert docker.commands(("docker", "pull")) == []
    builds = docker.commands(("docker", "compose", "--project-name"))
    assert [argv[-1] for argv in builds] == ["postgres-pitr"]
    derive_env = next(env for env in docker.envs if env and "SHIPYARD_DERIVE_FROM" in env)
    assert derive_env["SHIPYARD_DERIVE_FROM"] == "postgres:16"
    assert resolve.resolve_images("auto", engine=Engine(docker), env={}) == RUNS_UPSTREAM
    assert len(docker.commands(("docker", "compose", "--project-name"))) == 1  # current


def test_a_new_upstream_image_rebuilds_its_derivation():
    docker = FakeDocker({"postgres:16": {}}, ids={"postgres:16": "sha256:old"})
    resolve.resolve_images("auto", keys=["postgres"], engine=Engine(docker), env={})
    docker.ids["postgres:16"] = "sha256:new"  # a newer postgres:16 was pulled
    resolve.resolve_images("auto", keys=["postgres"], engine=Engine(docker), env={})
    assert len(docker.commands(("docker", "compose", "--project-name"))) == 2


def test_env_var_forces_local_over_configured_upstream(monkeypatch):
    built = []
    monkeypatch.setattr(resolve, "build_standins", lambda keys, **kw: built.append(keys))
    images = resolve.resolve_images(
        "upstream", engine=Engine(FakeDocker()), env={"SHIPYARD_IMAGE_SOURCE": "local"}
    )
    assert images == LOCAL
    assert built == [catalog.keys()]


def test_local_with_the_engine_down_is_exit_2():
    with pytest.raises(PrerequisiteError) as caught:
        resolve.resolve_images("local", engine=Engine(FakeDocker(engine_up=False)), env={})
    assert caught.value.exit_code == 2


def test_current_images_only_looks_never_pulls_or_builds():
    standin_pg = catalog.get("postgres").standin
    docker = FakeDocker({"nginx:1.27": {}, standin_pg: {}}, pullable={"python:3.12-slim"})
    images = resolve.current_images("auto", engine=Engine(docker), env={})
    assert images["NGINX_IMAGE"] == "nginx:1.27"  # upstream, present
    assert images["POSTGRES_IMAGE"] == standin_pg  # stand-in, present
    assert images["PYTHON_IMAGE"] == "python:3.12-slim"  # neither: the upstream name
    assert docker.commands(("docker", "pull")) == []
    assert docker.commands(("docker", "compose", "--project-name")) == []


def test_current_images_follow_the_switch():
    docker = FakeDocker()
    local = resolve.current_images("local", engine=Engine(docker), env={})
    assert local == {image.variable: image.standin for image in CATALOG}
    assert resolve.current_images("upstream", env={}) == RUNS_UPSTREAM
