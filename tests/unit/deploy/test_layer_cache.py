"""Retention of the local registry: which manifests go (pure)."""

from __future__ import annotations

from pathlib import Path

from shipyard.deploy.layer_cache import garbage_collect_argv, stale_manifests


def test_only_the_manifests_of_the_kept_refs_stay() -> None:
    digests = {
        ("docstore-app", "0.1.0"): "sha256:a1",
        ("docstore-app", "0.2.0"): "sha256:a2",
        ("shipyard-local/postgres", "15"): "sha256:p",
        ("shipyard-local/nginx", "1.22"): "sha256:n",
    }
    stale = stale_manifests(digests, ["docstore-app:0.2.0", "shipyard-local/nginx:1.22"])
    assert stale == [("docstore-app", "sha256:a1"), ("shipyard-local/postgres", "sha256:p")]


def test_a_manifest_a_kept_tag_points_at_is_never_deleted_through_another_tag() -> None:
    # Deleting by digest removes every tag of it: the old tag of the same image must stay.
    digests = {("app", "old"): "sha256:same", ("app", "new"): "sha256:same"}
    assert stale_manifests(digests, ["app:new"]) == []
    # The same digest in another repository is another manifest.
    assert stale_manifests({**digests, ("other", "x"): "sha256:same"}, ["app:new"]) == [
        ("other", "sha256:same")
    ]


def test_nothing_is_kept_that_is_not_there_and_nothing_goes_when_all_are_kept() -> None:
    digests = {("app", "1"): "sha256:1"}
    assert stale_manifests(digests, ["app:1", "gone:2"]) == []
    assert stale_manifests({}, ["app:1"]) == []


def test_garbage_collection_also_drops_untagged_manifests() -> None:
    argv = garbage_collect_argv("docker-registry", Path("/r/config.yml"))
    assert argv == ["docker-registry", "garbage-collect", "--delete-untagged", "/r/config.yml"]
