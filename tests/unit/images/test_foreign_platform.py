"""Building for another architecture: platform names, the relabelling of a saved image,
the emulation check, and the deploy preflight's architecture comparison (pure parts)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from shipyard.deploy.preflight import architecture_mismatch
from shipyard.errors import ConfigError, PrerequisiteError
from shipyard.images.foreign import (
    PLATFORMS,
    app_compose,
    docker_arch,
    platform_named,
    python_compose,
    relabel,
    require_emulation,
)

ARM64 = PLATFORMS["linux/arm64"]


def saved_image(directory: Path) -> None:
    """A minimal unpacked `docker save` archive of an amd64 image."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    name = f"{hashlib.sha256(config).hexdigest()}.json"
    (directory / name).write_bytes(config)
    manifest = [{"Config": name, "RepoTags": ["old:tag"], "Layers": ["abc/layer.tar"]}]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "repositories").write_text("{}")


def test_relabel_rewrites_the_config_its_digest_name_and_the_tag(tmp_path: Path) -> None:
    saved_image(tmp_path)
    relabel(tmp_path, ARM64, "base:arm64")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    config_file = tmp_path / manifest[0]["Config"]
    data = config_file.read_bytes()
    assert manifest[0]["Config"] == f"{hashlib.sha256(data).hexdigest()}.json"
    config = json.loads(data)
    assert (config["architecture"], config["variant"], config["os"]) == ("arm64", "v8", "linux")
    assert manifest[0]["RepoTags"] == ["base:arm64"]
    assert manifest[0]["Layers"] == ["abc/layer.tar"]
    assert not (tmp_path / "repositories").exists()
    assert len(list(tmp_path.glob("*.json"))) == 2  # the manifest and the one config


def test_platform_names_and_machines() -> None:
    assert platform_named("linux/arm64").machine == "aarch64"
    assert platform_named("linux/arm64").suffix == "-arm64"
    with pytest.raises(ConfigError, match="unknown platform"):
        platform_named("linux/s390x")
    assert docker_arch("x86_64\n") == "amd64"
    assert docker_arch("aarch64") == "arm64"


def test_emulation_check_names_the_packages(tmp_path: Path) -> None:
    with pytest.raises(PrerequisiteError) as raised:
        require_emulation(ARM64, binfmt_dir=tmp_path)
    assert "qemu-user-static" in (raised.value.hint or "")
    (tmp_path / "qemu-aarch64").write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt\n")
    require_emulation(ARM64, binfmt_dir=tmp_path)


def test_python_stand_in_for_arm64_has_its_own_tag_and_platform() -> None:
    compose = json.loads(python_compose(ARM64, "base:arm64", "hash1"))
    service = compose["services"]["python"]
    assert service["image"].endswith("-arm64")
    assert service["platform"] == "linux/arm64"
    assert service["build"]["args"] == {
        "BASE_IMAGE": "base:arm64",
        "SHIPYARD_CONTEXT_HASH": "hash1",
    }


def test_preflight_names_the_first_image_of_another_architecture() -> None:
    images = {"docstore-app:1.0": "amd64", "postgres:16": "amd64"}
    assert architecture_mismatch("staging", "x86_64\n", images) is None
    line = architecture_mismatch("prod", "aarch64", images)
    assert line == "on prod: the VM is arm64 but docstore-app:1.0 is amd64"
    assert architecture_mismatch("prod", "aarch64", {"docstore-app:1.0-arm64": "arm64"}) is None


def test_app_for_arm64_builds_without_an_env_file() -> None:
    args = {"APP_VERSION": "1.0", "PYTHON_IMAGE": "py:arm64"}
    compose = json.loads(app_compose(ARM64, "app:1.0-arm64", args, "/tmp/ca.pem"))
    service = compose["services"]["app"]
    assert service["image"] == "app:1.0-arm64"
    assert service["build"]["platforms"] == ["linux/arm64"]
    assert service["build"]["args"] == args
    assert service["build"]["context"].endswith("/app")
    assert compose["secrets"] == {"pip_ca": {"file": "/tmp/ca.pem"}}
    assert "env_file" not in json.dumps(compose)
