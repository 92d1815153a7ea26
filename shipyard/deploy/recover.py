"""Leftovers of a deploy whose client died, cleaned by the next one under the lock: a
half-unpacked bundle, a release that never became `current`, and app containers of other
releases than the current one (nginx is pointed back at the current release first)."""

from __future__ import annotations

from shipyard import console
from shipyard.deploy.plan import (
    app_releases_argv,
    deployed_releases_argv,
    parse_app_releases,
    remove_release_argv,
    remove_uploads_argv,
    stop_argv,
)
from shipyard.deploy.switch import drain, route_to, routed_container
from shipyard.vm.releases import current_release, release_names
from shipyard.vm.target import Target


def unfinished(names: list[str], deployed: set[str], current: str | None) -> list[str]:
    """Releases newer than `current` that never became current (a dead deploy's)."""
    return [name for name in names if name not in deployed and (current is None or name > current)]


def strays(containers: dict[str, str | None], current: str | None) -> list[str]:
    """Running app containers that do not belong to the current release."""
    if current is None:
        return []
    return sorted(name for name, release in containers.items() if release != current)


def clean_leftovers(target: Target) -> list[str]:
    """Undo what a dead deploy left behind; returns one line per thing cleaned."""
    layout = target.layout
    cleaned: list[str] = []
    target.run(remove_uploads_argv(layout), "removing unfinished uploads")
    current = current_release(target)
    deployed = set(target.probe(deployed_releases_argv(layout)).stdout.split())
    for name in unfinished(release_names(target), deployed, current):
        target.run(remove_release_argv(layout, name), f"removing unfinished release {name}")
        cleaned.append(f"removed unfinished release {name}")
    listing = target.run(app_releases_argv(target.env.project), "listing app containers")
    containers = parse_app_releases(listing.stdout, layout)
    stray = strays(containers, current)
    if not stray:
        return cleaned
    keep = sorted(name for name, release in containers.items() if release == current)
    routed = routed_container(target)
    if routed in stray:
        if not keep:
            console.warn(f"nginx routes to {routed} of an unfinished release; left as it is")
            return cleaned
        assert current is not None
        drain(target, route_to(target, current, keep[0]), [routed])
        cleaned.append(f"nginx routed back from {routed} to {keep[0]}")
    for name in stray:
        target.run(stop_argv(name), f"stopping {name}", timeout=120)
        cleaned.append(f"stopped {name} (not the current release's)")
    return cleaned
