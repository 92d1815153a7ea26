"""The deploy path on a VM (releases/, current, shared/, the lock and the audit log), the
names of releases, and the commands that read them. Pure: paths and argv lists.

Both `shipyard.deploy` (which writes releases) and `shipyard.backup` (which backs up the
serving one) stand on this module."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from shipyard.compose import ComposeProject

_RELEASE_ID = re.compile(r"^\d{8}T\d{6}Z-[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Layout:
    """Where things live under the deploy path on the VM (docs/architecture.md, "On the VM")."""

    root: str

    @property
    def releases(self) -> str:
        return posixpath.join(self.root, "releases")

    @property
    def current(self) -> str:
        return posixpath.join(self.root, "current")

    @property
    def shared(self) -> str:
        return posixpath.join(self.root, "shared")

    @property
    def nginx(self) -> str:
        """The live nginx config (shared/nginx): what the running nginx mounts."""
        return posixpath.join(self.shared, "nginx")

    @property
    def certs(self) -> str:
        """Certificates and the ACME client's state (shared/certs), outside releases."""
        return posixpath.join(self.shared, "certs")

    @property
    def shared_secrets(self) -> str:
        """The data services' secret files, kept across releases (shipyard.secretfiles)."""
        return posixpath.join(self.shared, "secrets")

    @property
    def lock(self) -> str:
        return posixpath.join(self.root, "deploy.lock")

    @property
    def audit_log(self) -> str:
        return posixpath.join(self.root, "audit.log")

    def release(self, release_id: str) -> str:
        """The directory of one release."""
        return posixpath.join(self.releases, release_id)

    def secrets(self, release_id: str) -> str:
        """The secret files of one release (shipyard.secretfiles), a directory per service."""
        return posixpath.join(self.release(release_id), "secrets")

    def upload(self, release_id: str) -> str:
        """Where a release's bundle is unpacked before it is renamed into releases/."""
        return posixpath.join(self.releases, f".tmp-{release_id}")


def release_id(when: datetime, version: str) -> str:
    """`20261122T173000Z-0.1.0`: sorts by time, names the version."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", version)
    return f"{when.strftime('%Y%m%dT%H%M%SZ')}-{safe}"


def is_release_id(name: str) -> bool:
    """True for a directory name made by `release_id` (not a temporary upload)."""
    return bool(_RELEASE_ID.match(name))


def release_project(
    layout: Layout, release: str, project: str, files: Sequence[str], profiles: Sequence[str]
) -> ComposeProject:
    """The compose project of one release: its own compose files and its own `.env`."""
    directory = PurePosixPath(layout.release(release))
    return ComposeProject(
        project=project,
        files=tuple(directory / "compose" / name for name in files),
        env_file=directory / ".env",
        profiles=tuple(profiles),
    )


def list_releases_argv(layout: Layout) -> list[str]:
    """The names in releases/ (one per line)."""
    return ["ls", "-1", layout.releases]


def current_release_argv(layout: Layout) -> list[str]:
    """Where `current` points (exit 1 on a VM never deployed to)."""
    return ["readlink", layout.current]


def read_release_argv(layout: Layout, release: str) -> list[str]:
    """release.json of one release."""
    return ["cat", posixpath.join(layout.release(release), "release.json")]
