"""The app image: what it is called and what it is stamped with (version, git sha, time).

The stamp is deterministic for a given commit, so rebuilding unchanged code yields the
same image id and `inv setup` can be re-run without recreating containers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import semver

from shipyard.errors import ConfigError
from shipyard.remote import Runner

UNKNOWN = "unknown"


@dataclass(frozen=True)
class BuildInfo:
    """What `/version` of the built image reports."""

    version: str
    git_sha: str
    build_time: str

    def image_ref(self, app_name: str) -> str:
        """The image tag, e.g. `docstore-app:0.1.0-3f2c9ab1d4e5`."""
        if self.git_sha == UNKNOWN:
            return f"{app_name}-app:{self.version}-dev"
        sha, dirty, _ = self.git_sha.partition("-dirty")
        suffix = sha[:12] + ("-dirty" if dirty else "")
        return f"{app_name}-app:{self.version}-{suffix}"

    def compose_variables(self, app_name: str) -> dict[str, str]:
        """The compose variables that carry this build into `docker compose build`."""
        return {
            "APP_IMAGE": self.image_ref(app_name),
            "APP_VERSION": self.version,
            "GIT_SHA": self.git_sha,
            "BUILD_TIME": self.build_time,
        }


def read_version(app_dir: Path) -> str:
    """The app's semver from `app/VERSION`."""
    path = app_dir / "VERSION"
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the app version: {exc.strerror}") from None
    if not semver.Version.is_valid(text):
        raise ConfigError(f"{path}:1: {text!r} is not a semantic version (e.g. 1.4.0)")
    return text


def git_stamp_commands() -> dict[str, list[str]]:
    """The git commands whose output stamps a build."""
    return {
        "sha": ["git", "rev-parse", "HEAD"],
        "time": ["git", "log", "-1", "--format=%cI", "HEAD"],
        "dirty": ["git", "status", "--porcelain", "--", "app"],
    }


def read_build_info(root: Path, runner: Runner) -> BuildInfo:
    """Version from app/VERSION; sha and time of the HEAD commit (`-dirty` if app/ changed)."""
    version = read_version(root / "app")
    commands = git_stamp_commands()
    sha = runner.run(commands["sha"])
    if not sha.ok:
        return BuildInfo(version=version, git_sha=UNKNOWN, build_time=UNKNOWN)
    time = runner.run(commands["time"])
    dirty = runner.run(commands["dirty"])
    git_sha = sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    return BuildInfo(version=version, git_sha=git_sha, build_time=time.stdout.strip() or UNKNOWN)
