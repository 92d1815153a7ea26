"""Pruning releases on the VM beyond keep_releases: their directories and the app images no
kept release uses."""

from __future__ import annotations

from shipyard.deploy.plan import releases_to_prune, remove_images_argv, remove_release_argv
from shipyard.vm.releases import current_release, release_facts, release_names
from shipyard.vm.target import Target


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
