"""The Debian base as built by shipyard.images.base, and the source switch on a real engine."""

from __future__ import annotations

import json

import pytest

from shipyard.errors import PrerequisiteError
from shipyard.images import base
from shipyard.images.catalog import BASE_TAG, CATALOG, CONTEXT_HASH_LABEL
from shipyard.images.engine import Engine
from shipyard.images.resolve import resolve_images
from shipyard.images.standins import context_hash
from tests.integration.images.support import docker

pytestmark = pytest.mark.integration


def test_the_base_uses_this_machines_mirror_and_is_trimmed(standins, sandbox):
    mirror = base.choose_mirror(None, base.host_sources())
    result = sandbox.run(
        BASE_TAG,
        "sh",
        "-ec",
        "cat /etc/apt/sources.list.d/debian.sources; test ! -e /etc/apt/sources.list; "
        "ls /usr/share/doc/bash; ls /var/lib/apt/lists | wc -l",
    )
    assert f"URIs: {mirror}\nSuites: bookworm bookworm-updates\n" in result.stdout
    lines = result.stdout.strip().splitlines()
    assert lines[-2:] == ["copyright", "0"]
    config = json.loads(docker("image", "inspect", BASE_TAG).stdout)[0]["Config"]
    assert config["Cmd"] == ["bash"]
    assert config["Labels"]["io.shipyard.suite"] == "bookworm"


def test_each_stand_in_carries_the_hash_of_its_context(standins):
    engine = Engine()
    for image in CATALOG:
        labels = engine.image_labels(image.standin)
        assert labels[CONTEXT_HASH_LABEL] == context_hash(image.context), image.key
        assert image.upstream.startswith(labels["io.shipyard.stand-in-for"]), image.key


def test_local_source_maps_every_variable_to_its_built_stand_in(standins):
    images = resolve_images("local", env={})
    assert images == {image.variable: image.standin for image in CATALOG}


def test_the_environment_variable_overrides_the_configured_source(standins):
    upstream = {"SHIPYARD_IMAGE_SOURCE": "upstream"}
    plain = [image for image in CATALOG if image.derivation is None]
    images = resolve_images("local", keys=[image.key for image in plain], env=upstream)
    assert images == {image.variable: image.upstream for image in plain}
    # postgres runs derived from postgres:16, which no registry here can give: one line
    with pytest.raises(PrerequisiteError, match=r"^postgres:16 is not in the Docker engine"):
        resolve_images("local", env=upstream)
