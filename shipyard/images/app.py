"""The app image: what it is called and what it is stamped with (version, git sha, time,
and the Alembic head its migrations lead to).

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
    migrations_head: str = UNKNOWN
    """The Alembic head revision(s) of the image's migrations, comma-separated: a deploy
    reads it from the image label to skip the migration container when the database is
    already there."""

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
            "MIGRATIONS_HEAD": self.migrations_head,
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


def migration_heads(app_dir: Path) -> str:
    """The head revision(s) of the app's Alembic scripts, sorted and comma-separated;
    `unknown` for an app without app/migrations."""
    from alembic.script import ScriptDirectory

    if not (app_dir / "migrations" / "versions").is_dir():
        return UNKNOWN
    script = ScriptDirectory(str(app_dir / "migrations"))
    return ",".join(sorted(script.get_heads()))


def read_build_info(root: Path, runner: Runner) -> BuildInfo:
    """Version from app/VERSION; sha and time of the HEAD commit (`-dirty` if app/ changed);
    the migrations' head from app/migrations."""
    version = read_version(root / "app")
    head = migration_heads(root / "app")
    commands = git_stamp_commands()
    sha = runner.run(commands["sha"])
    if not sha.ok:
        return BuildInfo(version, UNKNOWN, UNKNOWN, head)
    time = runner.run(commands["time"])
    dirty = runner.run(commands["dirty"])
    git_sha = sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    return BuildInfo(version, git_sha, time.stdout.strip() or UNKNOWN, head)
