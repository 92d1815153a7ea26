"""The local registry of `ssh` delivery keeps only what the last delivery pushed: real
`docker-registry` (Debian's, installed by ./scripts/bootstrap) and the real Docker engine."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.config import PROJECT_ROOT
from shipyard.deploy import layers
from shipyard.deploy.layer_cache import tagged_digests
from shipyard.remote import LocalRunner
from tests.integration.support import build_image

BASE = "shipyard-local/debian:bookworm"
REPO = "shipyard-test-layercache"
OTHER = f"{REPO}-other:old"
"""The old image under a second repository name (the same manifest digest)."""


def _build(tag: str, payload: str) -> str:
    """An image FROM the Debian stand-in with one layer of its own; returns its ref."""
    dockerfile = f"FROM {BASE}\nRUN head -c 300000 /dev/urandom > /payload-{payload}\n"
    return build_image(dockerfile, f"{REPO}:{tag}")


@pytest.fixture(scope="module")
def images() -> Iterator[tuple[str, str]]:
    refs = (_build("old", "a"), _build("new", "b"))
    subprocess.run(["docker", "tag", refs[0], OTHER], check=True)
    yield refs
    subprocess.run(["docker", "image", "rm", *refs, OTHER], capture_output=True, check=False)


def _blobs(root: Path) -> set[str]:
    return {path.parent.name for path in root.glob("data/docker/registry/v2/blobs/*/*/*/data")}


def _layer_digests(port: int, ref: str) -> set[str]:
    name, _, tag = ref.rpartition(":")
    accept = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = httpx.get(
        f"http://127.0.0.1:{port}/v2/{name}/manifests/{tag}", headers={"Accept": accept}
    ).json()
    return {layer["digest"].partition(":")[2] for layer in manifest["layers"]}


def test_a_delivery_keeps_only_its_images_and_their_shared_layers(
    tmp_path: Path, images: tuple[str, str]
) -> None:
    old, new = images
    local = LocalRunner(PROJECT_ROOT)
    with layers.local_registry(tmp_path) as port:
        layers.push(local, port, [old, OTHER])
        old_layers = _layer_digests(port, old)
        layers.push(local, port, [new])
        new_layers = _layer_digests(port, new)
        everything = tagged_digests(port)
        assert set(everything) == {(REPO, "old"), (REPO, "new"), (f"{REPO}-other", "old")}
        assert tagged_digests(port, page=1) == everything, "the catalog is read page by page"
        assert layers.drop_older_images(port, [new]) is True
        assert layers.drop_older_images(port, [new]) is False, "nothing left to drop"
    before = _blobs(tmp_path)
    layers.collect_garbage(local, tmp_path)
    after = _blobs(tmp_path)

    only_old = old_layers - new_layers
    assert only_old and new_layers & old_layers, "the two images share the base layers"
    assert only_old <= before and not only_old & after, "the old image's own layer is gone"
    assert new_layers <= after, "every layer of the kept image stays, shared ones included"
    with layers.local_registry(tmp_path) as port:
        assert set(tagged_digests(port)) == {(REPO, "new")}
        # The kept image is whole: every layer of it is served.
        for digest in new_layers:
            blob = httpx.head(f"http://127.0.0.1:{port}/v2/{REPO}/blobs/sha256:{digest}")
            assert blob.status_code == 200, digest
        # A dropped image is pushed again when a later delivery needs it.
        layers.push(local, port, [old])
        assert (REPO, "old") in tagged_digests(port)


def test_one_delivery_at_a_time_uses_the_registry(tmp_path: Path) -> None:
    entered: list[float] = []

    def second() -> None:
        with layers.registry_lock(tmp_path):
            entered.append(time.monotonic())

    with layers.registry_lock(tmp_path):
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive() and not entered, "the second delivery did not wait"
        released = time.monotonic()
    waiting.join(timeout=10)
    assert entered and entered[0] >= released
