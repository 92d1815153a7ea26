"""`inv release` as a new user tries it: in a throwaway clone of this checkout (never in the
checkout itself), with its own tasks and its own CHANGELOG.md."""

from __future__ import annotations

import re
from pathlib import Path

import semver

from shipyard.config import PROJECT_ROOT
from shipyard.release import changelog as cl
from shipyard.release.version import next_version
from tests.unit.release.gitrepo import git, inv


def test_rc_then_final_in_a_clone_of_this_checkout(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--no-local", str(PROJECT_ROOT), str(clone))
    git(clone, "config", "user.name", "Release Tester")
    git(clone, "config", "user.email", "tester@example.com")
    git(clone, "remote", "set-url", "origin", "https://github.com/acme/shipyard.git")
    tags = git(clone, "tag", "--list").split()
    if tags:  # the releases of this checkout are not what is tried here
        git(clone, "tag", "--delete", *tags)
    current = (clone / "app" / "VERSION").read_text().strip()
    rc = str(next_version(semver.Version.parse(current), "minor", "rc"))
    final = str(next_version(semver.Version.parse(rc), "minor"))

    plan = inv(clone, "release", "--bump", "minor", "--pre", "rc", "--dry-run", search_root=clone)
    assert plan.code == 0, plan.err
    assert f"would: app/VERSION: {current} -> {rc}" in plan.out
    assert git(clone, "status", "--porcelain") == ""

    assert inv(clone, "release", "--bump", "minor", "--pre", "rc", search_root=clone).code == 0
    done = inv(clone, "release", "--bump", "minor", search_root=clone)
    assert done.code == 0, done.err
    assert git(clone, "tag", "--list").split() == [f"v{final}", f"v{rc}"]
    text = (clone / "CHANGELOG.md").read_text()
    parsed = cl.parse(text)
    assert parsed.released()[0] == final
    assert re.search(rf"^## \[{re.escape(final)}\] - \d{{4}}-\d\d-\d\d$", text, re.M)
    assert parsed.links()["Unreleased"].endswith(f"/compare/v{final}...HEAD")
    notes = inv(clone, "release.notes", search_root=clone)
    assert notes.code == 0 and notes.out.startswith("### ")
    assert notes.out == cl.notes(parsed, final)
