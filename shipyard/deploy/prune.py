"""Releases on the VM: which exist, which is current, and pruning beyond keep_releases
(their directories and the app images no kept release uses)."""

from __future__ import annotations

import posixpath

from shipyard.deploy.bundle import ReleaseFacts
from shipyard.deploy.context import Target
from shipyard.deploy.plan import (
    current_release_argv,
    is_release_id,
    list_releases_argv,
    read_release_argv,
    releases_to_prune,
    remove_images_argv,
    remove_release_argv,
)


def release_names(target: Target) -> list[str]:
    """Every complete release on the VM, oldest first."""
    result = target.probe(list_releases_argv(target.layout))
    return sorted(name for name in result.stdout.split() if is_release_id(name))


def current_release(target: Target) -> str | None:
    """The release `current` points at, or None before the first deploy."""
    result = target.probe(current_release_argv(target.layout))
    return posixpath.basename(result.stdout.strip()) if result.ok else None


def release_facts(target: Target, release: str) -> ReleaseFacts | None:
    """release.json of a release (None when unreadable)."""
    result = target.probe(read_release_argv(target.layout, release))
    return ReleaseFacts.from_json(result.stdout) if result.ok else None


def prune(target: Target) -> list[str]:
    """Remove releases beyond the newest keep_releases and their app images; returns them."""
    names = release_names(target)
    doomed = releases_to_prune(names, current_release(target), target.env.keep_releases)
    if not doomed:
        return []
    kept_images = {
        facts.app_image
        for name in names
        if name not in doomed and (facts := release_facts(target, name)) is not None
    }
    images = {
        facts.app_image for name in doomed if (facts := release_facts(target, name)) is not None
    }
    for name in doomed:
        target.run(remove_release_argv(target.layout, name), f"removing release {name}")
    unused = sorted(images - kept_images)
    if unused:
        target.run(remove_images_argv(unused), "removing unused app images")
    return doomed
