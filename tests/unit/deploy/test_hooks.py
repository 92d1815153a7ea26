"""Hooks: which one runs, what it is told, and what its failure means."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.deploy import hooks
from shipyard.errors import CommandFailedError

FACTS = hooks.HookFacts(
    action="deploy",
    env="staging",
    release="20261122T173000Z-0.2.0",
    version="0.2.0",
    git_sha="abc123",
    previous_release="20261122T170000Z-0.1.0",
    app_image="docstore-app:0.2.0",
    host="staging.example",
    public_url="https://staging.example",
    who="a@b",
)


def hook(directory: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(mode)
    return path


def test_facts_become_shipyard_variables() -> None:
    environment = FACTS.environment()
    assert environment["SHIPYARD_ENV"] == "staging"
    assert environment["SHIPYARD_RELEASE"] == "20261122T173000Z-0.2.0"
    assert environment["SHIPYARD_PREVIOUS_RELEASE"] == "20261122T170000Z-0.1.0"
    assert environment["SHIPYARD_GIT_SHA"] == "abc123"
    assert all(name.startswith("SHIPYARD_") for name in environment)


def test_hooks_dir_can_be_overridden() -> None:
    assert hooks.hooks_dir({}).name == "hooks"
    assert hooks.hooks_dir({"SHIPYARD_HOOKS_DIR": "/tmp/h"}) == Path("/tmp/h")


def test_missing_and_non_executable_hooks_are_skipped_with_a_note(tmp_path: Path) -> None:
    assert hooks.find(tmp_path, "pre-deploy")[1].startswith("no pre-deploy hook")
    hook(tmp_path, "pre-deploy", "exit 1", mode=0o644)
    path, note = hooks.find(tmp_path, "pre-deploy")
    assert path is None and "is not executable: skipped" in note
    assert hooks.run("pre-deploy", FACTS, tmp_path) is True


def test_a_hook_sees_the_facts(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    hook(tmp_path, "post-deploy", f'echo "$SHIPYARD_VERSION $SHIPYARD_ENV" > {seen}')
    assert hooks.run("post-deploy", FACTS, tmp_path) is True
    assert seen.read_text(encoding="utf-8") == "0.2.0 staging\n"


def test_a_failing_pre_hook_aborts_and_a_failing_post_hook_warns(tmp_path: Path) -> None:
    hook(tmp_path, "pre-deploy", "echo not today >&2; exit 4")
    with pytest.raises(CommandFailedError, match=r"failed \(exit 4\): nothing was changed"):
        hooks.run("pre-deploy", FACTS, tmp_path)
    hook(tmp_path, "post-rollback", "exit 1")
    assert hooks.run("post-rollback", FACTS, tmp_path) is False


def test_samples_are_shipped_but_not_executable() -> None:
    samples = sorted(hooks.hooks_dir({}).glob("*.sample"))
    assert [path.name for path in samples] == [
        "post-deploy.sample",
        "post-rollback.sample",
        "pre-deploy.sample",
    ]
    assert not any(path.stat().st_mode & 0o111 for path in samples)
