"""`inv release.check` on a real pull-request branch of a temporary git repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.release.gitrepo import add_entry, git, inv, make_repo


@pytest.fixture
def branch(tmp_path: Path) -> Path:
    """A repository on a `feature` branch made from `main`."""
    repo = make_repo(tmp_path)
    git(repo, "switch", "--quiet", "--create", "feature")
    return repo


def _commit(repo: Path, path: str, text: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", f"change {path}")


def test_code_with_a_changelog_entry_passes(branch: Path) -> None:
    add_entry(branch, "a feature")
    done = inv(branch, "release.check", "--base", "main")
    assert done.code == 0, done.err
    assert "version 1.2.0; 1 code file(s) changed since main, changelog updated" in done.out


def test_docs_and_tests_need_no_entry(branch: Path) -> None:
    _commit(branch, "docs/guide.md", "words\n")
    _commit(branch, "tests/unit/test_x.py", "def test_x() -> None: ...\n")
    assert inv(branch, "release.check", "--base", "main").code == 0


def test_code_without_a_changelog_entry_fails(branch: Path) -> None:
    _commit(branch, "shipyard/deploy/run.py", "# changed\n")
    done = inv(branch, "release.check", "--base", "main")
    assert done.code == 1
    assert (
        "code changed (shipyard/deploy/run.py) but the Unreleased section of CHANGELOG.md "
        "did not: add an entry"
    ) in done.err


def test_version_files_that_disagree_fail(branch: Path) -> None:
    _commit(branch, "app/VERSION", "1.3.0\n")
    pyproject = (branch / "pyproject.toml").read_text()
    _commit(
        branch, "pyproject.toml", pyproject.replace('dynamic = ["version"]', 'version = "1.1.0"')
    )
    done = inv(branch, "release.check", "--base", "main")
    assert done.code == 1
    assert "app/VERSION says 1.3.0 but the newest section of CHANGELOG.md is 1.2.0" in done.err
    assert "pyproject.toml says version 1.1.0 but app/VERSION says 1.3.0" in done.err


def test_an_unknown_base_is_bad_input(branch: Path) -> None:
    done = inv(branch, "release.check", "--base", "origin/nope")
    assert done.code == 2
    assert done.err.strip().endswith(
        "--base origin/nope: no such commit here (fetch it first (actions/checkout with "
        "fetch-depth: 0))"
    )
