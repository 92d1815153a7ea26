"""Environments from invoke.yaml become typed objects; bad ones are one-line errors."""

from pathlib import Path

import pytest

from shipyard.config import PROJECT_ROOT, load_config, load_environment
from shipyard.errors import ConfigError, ExitCode


def test_the_committed_invoke_yaml_declares_local_staging_and_production():
    config = load_config()
    assert {"local", "staging", "production"} <= set(config.environments)
    local = config.environment("local")
    assert local.is_local
    assert local.env_file == Path(".env")
    assert local.path(local.env_file) == PROJECT_ROOT / ".env"
    production = config.environment("production")
    assert not production.is_local
    assert production.requires_approval


def test_every_declared_environment_is_valid():
    config = load_config()
    for name in config.environments:
        environment = config.environment(name)
        assert environment.name == name
        for file in environment.compose_files:
            assert environment.path(file).is_file(), file


def test_unknown_environment_names_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        load_environment("prod")
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert "unknown environment 'prod'" in caught.value.one_line()
    assert "local, production, sandbox, staging" in caught.value.one_line()


def test_a_missing_environment_asks_for_the_flag():
    with pytest.raises(ConfigError) as caught:
        load_environment("")
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert caught.value.one_line() == (
        "no environment given (pass --env NAME (known: local, production, sandbox, staging))"
    )


def _with_local(**fields: object) -> dict:
    local = {
        "env_file": ".env",
        "public_url": "http://127.0.0.1:8080",
        "compose_files": ["compose/compose.yaml"],
        "project": "x",
        **fields,
    }
    return {"shipyard": {"app_name": "x", "environments": {"local": local}}}


def test_a_bad_field_names_its_path_in_invoke_yaml():
    with pytest.raises(ConfigError, match=r"shipyard\.environments\.local\.project"):
        load_environment("local", _with_local(project="Not Valid"))


def test_an_unknown_field_is_refused_not_ignored():
    with pytest.raises(ConfigError, match=r"local\.hots"):
        load_environment("local", _with_local(hots="typo"))


def test_missing_shipyard_section():
    with pytest.raises(ConfigError, match="no `shipyard` section"):
        load_config({"run": {}})


def test_image_source_must_be_a_known_switch():
    with pytest.raises(ConfigError, match=r"shipyard\.images\.source"):
        load_config(
            {"shipyard": {"app_name": "x", "images": {"source": "dockerhub"}, "environments": {}}}
        )
