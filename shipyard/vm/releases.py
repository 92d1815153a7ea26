"""The releases on a VM: which exist, which one serves (`current`), what each one is
(release.json), and the compose project of the serving one."""

from __future__ import annotations

import json
import posixpath
from dataclasses import asdict, dataclass, field

from shipyard.compose import ComposeProject
from shipyard.errors import ConfigError
from shipyard.vm.layout import (
    current_release_argv,
    is_release_id,
    list_releases_argv,
    read_release_argv,
)
from shipyard.vm.target import Target


@dataclass(frozen=True)
class ReleaseFacts:
    """release.json: what a release is, and who made it when."""

    release: str
    env: str
    version: str
    git_sha: str
    app_image: str
    app_image_id: str
    images: dict[str, str] = field(default_factory=dict)
    deployed_by: str = ""
    deployed_at: str = ""

    def to_json(self) -> str:
        """The file's text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ReleaseFacts:
        """Read release.json (unknown keys ignored)."""
        data = json.loads(text)
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


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


@dataclass(frozen=True)
class ReleaseEntry:
    """One release on the VM, as `inv releases` lists it."""

    name: str
    current: bool
    facts: ReleaseFacts | None
    """None when its release.json cannot be read."""


def list_releases(target: Target) -> list[ReleaseEntry]:
    """Every complete release on the VM, oldest first, the serving one marked."""
    current = current_release(target)
    return [
        ReleaseEntry(name, name == current, release_facts(target, name))
        for name in release_names(target)
    ]


def serving_project(target: Target) -> ComposeProject:
    """The compose project of the VM's current release (its files and its own `.env`, which
    already names the images, so no variables are passed); ConfigError before a deploy."""
    current = current_release(target)
    if current is None:
        raise ConfigError(
            f"nothing is deployed to {target.env.name} yet: no {target.layout.current}",
            hint=f"`inv deploy --env {target.env.name}` first",
        )
    return target.project(current)
