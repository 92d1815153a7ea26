"""Layer-level delivery: the registry's config and the commands on both ends (pure)."""

from __future__ import annotations

from pathlib import Path

import yaml

from shipyard.deploy import layers


def test_registry_listens_on_loopback_only_and_stores_under_its_root() -> None:
    config = yaml.safe_load(layers.registry_config(Path("/r"), 5123))
    assert config["http"] == {"addr": "127.0.0.1:5123"}
    assert config["storage"] == {
        "filesystem": {"rootdirectory": "/r/data"},
        "delete": {"enabled": True},
    }


def test_push_here_then_pull_there_under_the_same_name() -> None:
    assert layers.push_argvs(5123, "docstore-app:0.2.0") == [
        ["docker", "tag", "docstore-app:0.2.0", "127.0.0.1:5123/docstore-app:0.2.0"],
        ["docker", "push", "--quiet", "127.0.0.1:5123/docstore-app:0.2.0"],
        ["docker", "image", "rm", "127.0.0.1:5123/docstore-app:0.2.0"],
    ]
    argv = layers.pull_argv(5123, "docstore-app:0.2.0")
    assert argv[:2] == ["sh", "-c"]
    assert argv[3:] == ["sh", "127.0.0.1:5123/docstore-app:0.2.0", "docstore-app:0.2.0"]
    assert 'docker pull --quiet "$1"' in argv[2] and 'docker tag "$1" "$2"' in argv[2]
