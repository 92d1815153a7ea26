"""Real temporary git repositories for the release tests, and `inv` run inside them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from shipyard.config import PROJECT_ROOT

INV = Path(sys.executable).parent / "inv"
CHANGELOG = """\
# Changelog

All notable changes to this project are documented here.

## [Unreleased]

## [1.2.0] - 2026-01-02

### Added
- the first thing

[Unreleased]: https://github.com/acme/shipyard/compare/v1.2.0...HEAD
[1.2.0]: https://github.com/acme/shipyard/releases/tag/v1.2.0
"""
PYPROJECT = """\
[project]
name = "demo"
dynamic = ["version"]

[tool.setuptools.dynamic]
version = {file = "app/VERSION"}
"""


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`; its stdout (fails the test when git fails)."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


@dataclass
class Inv:
    """How one `inv` run ended."""

    code: int
    out: str
    err: str


def inv(repo: Path, *args: str, search_root: Path = PROJECT_ROOT) -> Inv:
    """`inv ARGS` with `repo` as the working directory and this checkout's tasks."""
    done = subprocess.run(
        [str(INV), "--search-root", str(search_root), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )
    return Inv(done.returncode, done.stdout, done.stderr)


def add_entry(repo: Path, line: str, category: str = "Added") -> None:
    """Put one entry under Unreleased and commit it."""
    path = repo / "CHANGELOG.md"
    text = path.read_text()
    entry = f"## [Unreleased]\n\n### {category}\n- {line}\n"
    path.write_text(text.replace("## [Unreleased]\n", entry, 1))
    (repo / "app" / "feature.py").write_text(f"# {line}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", line)


def make_repo(root: Path) -> Path:
    """A project released as v1.2.0 on `main`, with `origin` fetching from GitHub's address
    and pushing to a local bare repository (`root/origin.git`)."""
    bare = root / "origin.git"
    git(root, "init", "--quiet", "--bare", str(bare))
    repo = root / "work"
    (repo / "app").mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "config", "user.name", "Release Tester")
    git(repo, "config", "user.email", "tester@example.com")
    git(repo, "config", "commit.gpgSign", "false")
    git(repo, "config", "tag.gpgSign", "false")
    git(repo, "remote", "add", "origin", "https://github.com/acme/shipyard.git")
    git(repo, "remote", "set-url", "--push", "origin", str(bare))
    (repo / "app" / "VERSION").write_text("1.2.0\n")
    (repo / "CHANGELOG.md").write_text(CHANGELOG)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "1.2.0")
    git(repo, "tag", "--annotate", "-m", "1.2.0", "v1.2.0")
    return repo
