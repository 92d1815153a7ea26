"""`inv release` and `inv release.notes` on real temporary git repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.unit.release.gitrepo import add_entry, git, inv, make_repo

REPO = "https://github.com/acme/shipyard"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """v1.2.0 released, one change under Unreleased, committed."""
    work = make_repo(tmp_path)
    add_entry(work, "`inv release`")
    return work


def _state(repo: Path) -> tuple[str, str, str, str]:
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "tag", "--list"),
        git(repo, "status", "--porcelain"),
        (repo / "CHANGELOG.md").read_text() + (repo / "app" / "VERSION").read_text(),
    )


def test_dry_run_prints_the_plan_and_changes_nothing(repo: Path) -> None:
    before = _state(repo)
    done = inv(repo, "release", "--bump", "minor", "--pre", "rc", "--dry-run")
    assert done.code == 0, done.err
    assert "would: app/VERSION: 1.2.0 -> 1.3.0-rc.1" in done.out
    assert "would: CHANGELOG.md: Unreleased -> [1.3.0-rc.1]" in done.out
    assert "would: annotated tag v1.3.0-rc.1 (not signed)" in done.out
    assert _state(repo) == before


def test_rc_then_rc_then_final(repo: Path) -> None:
    first = inv(repo, "release", "--bump", "minor", "--pre", "rc")
    assert first.code == 0, first.err
    assert "released 1.3.0-rc.1: tag v1.3.0-rc.1 (not signed), not pushed" in first.out
    assert git(repo, "cat-file", "-t", "v1.3.0-rc.1").strip() == "tag"
    assert git(repo, "log", "-1", "--format=%s").strip() == "release: 1.3.0-rc.1"
    assert git(repo, "status", "--porcelain") == ""
    add_entry(repo, "a fix in the rc", category="Fixed")
    second = inv(repo, "release", "--bump", "minor", "--pre", "rc")
    assert second.code == 0, second.err
    assert (repo / "app" / "VERSION").read_text() == "1.3.0-rc.2\n"
    changelog = (repo / "CHANGELOG.md").read_text()
    assert f"[1.3.0-rc.2]: {REPO}/compare/v1.3.0-rc.1...v1.3.0-rc.2" in changelog

    final = inv(repo, "release", "--bump", "minor")
    assert final.code == 0, final.err
    assert git(repo, "tag", "--list", "v1.3*").split() == ["v1.3.0", "v1.3.0-rc.1", "v1.3.0-rc.2"]
    changelog = (repo / "CHANGELOG.md").read_text()
    assert "## [Unreleased]\n\n## [1.3.0] - " in changelog
    assert "## [1.3.0-rc" not in changelog
    assert changelog.endswith(
        f"[Unreleased]: {REPO}/compare/v1.3.0...HEAD\n"
        f"[1.3.0]: {REPO}/compare/v1.2.0...v1.3.0\n"
        f"[1.2.0]: {REPO}/releases/tag/v1.2.0\n"
    )
    notes = inv(repo, "release.notes")
    assert notes.code == 0, notes.err
    assert notes.out == "### Added\n- `inv release`\n\n### Fixed\n- a fix in the rc\n"
    tag_message = git(repo, "tag", "--list", "--format=%(contents)", "v1.3.0")
    assert tag_message.startswith("1.3.0\n\n### Added\n- `inv release`\n")
    older = inv(repo, "release.notes", "--version", "v1.2.0")
    assert older.out == "### Added\n- the first thing\n"


def _refused(repo: Path, *args: str) -> str:
    """Run a release that must be refused: exit 2, one line, nothing changed."""
    before = _state(repo)
    done = inv(repo, "release", *args)
    assert done.code == 2, done.out + done.err
    assert len(done.err.strip().splitlines()) == 1, done.err
    assert "Traceback" not in done.err
    assert _state(repo) == before
    return done.err


def test_refusals_exit_2_with_one_line(repo: Path) -> None:
    (repo / "app" / "feature.py").write_text("# uncommitted\n")
    assert "uncommitted changes (app/feature.py)" in _refused(repo, "--bump", "patch")
    git(repo, "checkout", "--", "app/feature.py")

    git(repo, "tag", "--annotate", "-m", "2.0.0", "v2.0.0")
    err = _refused(repo, "--bump", "minor")
    assert "v1.3.0 is not greater than the newest tag v2.0.0" in err
    git(repo, "tag", "--delete", "v2.0.0")

    assert "--bump 'huge': expected one of" in _refused(repo, "--bump", "huge")
    assert "--bump is required" in _refused(repo)

    assert inv(repo, "release", "--bump", "patch").code == 0
    assert "the Unreleased section lists no change" in _refused(repo, "--bump", "patch")


def test_push_only_when_asked(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    assert inv(repo, "release", "--bump", "patch").code == 0
    assert git(bare, "tag", "--list") == ""
    add_entry(repo, "more")
    pushed = inv(repo, "release", "--bump", "patch", "--push")
    assert pushed.code == 0, pushed.err
    assert "pushed to origin" in pushed.out
    assert git(bare, "tag", "--list").split() == ["v1.2.2"]
    assert git(bare, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


def test_the_tag_is_signed_when_git_has_a_signing_key(repo: Path, tmp_path: Path) -> None:
    key = tmp_path / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "user.signingkey", str(key))
    done = inv(repo, "release", "--bump", "patch")
    assert done.code == 0, done.err
    assert f"tag v1.2.1 (signed with {key})" in done.out
    assert "-----BEGIN SSH SIGNATURE-----" in git(repo, "cat-file", "-p", "v1.2.1")


def test_links_come_from_origin_when_the_changelog_has_none(repo: Path) -> None:
    changelog = repo / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().split("\n[Unreleased]:")[0] + "\n")
    git(repo, "commit", "--quiet", "-am", "no links yet")
    git(repo, "remote", "set-url", "origin", "git@github.com:acme/other.git")
    assert inv(repo, "release", "--bump", "patch").code == 0
    assert changelog.read_text().endswith(
        "[Unreleased]: https://github.com/acme/other/compare/v1.2.1...HEAD\n"
        "[1.2.1]: https://github.com/acme/other/compare/v1.2.0...v1.2.1\n"
    )


def test_no_links_and_a_local_origin_is_refused(repo: Path, tmp_path: Path) -> None:
    changelog = repo / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().split("\n[Unreleased]:")[0] + "\n")
    git(repo, "commit", "--quiet", "-am", "no links yet")
    git(repo, "remote", "set-url", "origin", str(tmp_path / "origin.git"))
    assert "no [Unreleased] compare link" in _refused(repo, "--bump", "patch")
