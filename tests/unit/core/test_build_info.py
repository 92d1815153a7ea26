"""The app build stamp: version from app/VERSION, deterministic sha and time from git."""

from pathlib import Path

import pytest

from shipyard.config import PROJECT_ROOT
from shipyard.errors import ConfigError
from shipyard.images.app import (
    BuildInfo,
    git_stamp_commands,
    migration_heads,
    read_build_info,
    read_version,
)
from shipyard.remote import CommandResult


class ScriptedGit:
    """A stand-in for git's answers: the runner under test here is only a source of text."""

    def __init__(self, answers: dict[str, CommandResult]) -> None:
        self.answers = answers

    def run(self, argv, **_):
        return self.answers[" ".join(argv)]


def _answers(sha: str, time: str, dirty: str, ok: bool = True) -> dict[str, CommandResult]:
    commands = git_stamp_commands()
    code = 0 if ok else 128
    return {
        " ".join(commands["sha"]): CommandResult(tuple(commands["sha"]), code, sha),
        " ".join(commands["time"]): CommandResult(tuple(commands["time"]), code, time),
        " ".join(commands["dirty"]): CommandResult(tuple(commands["dirty"]), code, dirty),
    }


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "VERSION").write_text("1.4.0\n")
    return tmp_path


def test_clean_checkout_stamp(checkout: Path):
    sha = "3f2c9ab1d4e5f60718293a4b5c6d7e8f90a1b2c3"
    info = read_build_info(
        checkout, ScriptedGit(_answers(sha + "\n", "2026-11-22T10:00:00+00:00\n", ""))
    )
    assert info == BuildInfo("1.4.0", sha, "2026-11-22T10:00:00+00:00")
    assert info.image_ref("docstore") == "docstore-app:1.4.0-3f2c9ab1d4e5"
    assert info.compose_variables("docstore") == {
        "APP_IMAGE": "docstore-app:1.4.0-3f2c9ab1d4e5",
        "APP_VERSION": "1.4.0",
        "GIT_SHA": sha,
        "BUILD_TIME": "2026-11-22T10:00:00+00:00",
        "MIGRATIONS_HEAD": "unknown",
    }


def test_changes_under_app_mark_the_build_dirty(checkout: Path):
    info = read_build_info(checkout, ScriptedGit(_answers("abc123\n", "t\n", " M app/x.py\n")))
    assert info.git_sha == "abc123-dirty"
    assert info.image_ref("docstore") == "docstore-app:1.4.0-abc123-dirty"


def test_outside_git_the_stamp_says_unknown(checkout: Path):
    info = read_build_info(checkout, ScriptedGit(_answers("", "", "", ok=False)))
    assert info == BuildInfo("1.4.0", "unknown", "unknown")
    assert info.image_ref("docstore") == "docstore-app:1.4.0-dev"


def test_version_must_be_semver(tmp_path: Path):
    (tmp_path / "VERSION").write_text("v1.2\n")
    with pytest.raises(ConfigError, match=r"VERSION:1: 'v1.2' is not a semantic version"):
        read_version(tmp_path)


def test_missing_version_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read the app version"):
        read_version(tmp_path)


def test_the_stamp_carries_the_migrations_head():
    info = read_build_info(PROJECT_ROOT, ScriptedGit(_answers("abc123\n", "t\n", "")))
    assert info.migrations_head == "0003_backfill_object_key"
    assert migration_heads(PROJECT_ROOT / "app") == "0003_backfill_object_key"
