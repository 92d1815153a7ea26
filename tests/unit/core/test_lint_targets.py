"""`inv lint` finds every shell script and Dockerfile by itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shipyard.config import PROJECT_ROOT
from shipyard.lint_targets import dockerfiles, is_shell_script, shell_scripts


def test_every_known_shell_script_and_dockerfile_is_linted() -> None:
    scripts = shell_scripts(PROJECT_ROOT)
    for expected in (
        "scripts/bootstrap",
        ".ci/run",
        "hooks/pre-deploy.sample",
        "hooks/post-deploy.sample",
        "hooks/post-rollback.sample",
        "images/sandbox/sandbox-init",
        "images/postgres/docker-entrypoint.sh",
    ):
        assert expected in scripts
    assert not [name for name in scripts if name.endswith(".py")]
    assert {"app/Dockerfile", "images/postgres/Dockerfile"} <= set(dockerfiles(PROJECT_ROOT))


def test_scripts_are_found_by_their_first_line(tmp_path: Path) -> None:
    (tmp_path / "hook").write_text("#!/usr/bin/env bash\necho hi\n")
    (tmp_path / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "script.py").write_text("#!/usr/bin/env python3\n")
    (tmp_path / "notes").write_text("sh is a shell\n")
    found = {path.name for path in tmp_path.iterdir() if is_shell_script(path)}
    assert found == {"hook", "tool"}


def test_outside_a_git_checkout_the_tree_is_walked(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run.sh").write_text("echo\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "activate.sh").write_text("echo\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert subprocess.run(["git", "-C", str(tmp_path), "status"], capture_output=True).returncode
    assert shell_scripts(tmp_path) == ["a/run.sh"]
    assert dockerfiles(tmp_path) == ["Dockerfile"]
