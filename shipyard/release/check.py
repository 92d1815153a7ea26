"""`inv release.check`, for pull requests: code changed without a changelog entry, or version
files that disagree, are findings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from shipyard.errors import ConfigError
from shipyard.release import changelog as cl
from shipyard.release.git import Repository
from shipyard.release.plan import CHANGELOG_FILE, VERSION_FILE
from shipyard.release.version import parse

CODE_PATHS = (
    "app/",
    "compose/",
    "hooks/",
    "images/",
    "nginx/",
    "scripts/",
    "shipyard/",
    "tasks/",
    "invoke.yaml",
    "pyproject.toml",
)
"""What ships or runs: a change here needs a line under Unreleased. Tests, docs, benchmarks
and the workflows themselves do not."""


@dataclass(frozen=True)
class CheckResult:
    """What `inv release.check` found: one line per problem, and what it looked at."""

    version: str
    code_changed: list[str]
    findings: list[str]


def check_release(repo: Repository, base: str) -> CheckResult:
    """Compare HEAD with `base` (the pull request's target branch): code changed needs a
    changed Unreleased section; app/VERSION, pyproject.toml and the newest released section
    of CHANGELOG.md must agree."""
    if not repo.has_ref(base):
        raise ConfigError(
            f"--base {base}: no such commit here",
            hint="fetch it first (actions/checkout with fetch-depth: 0)",
        )
    findings: list[str] = []
    version = parse(_text(repo, VERSION_FILE).strip(), f"{VERSION_FILE}:1")
    head_log = cl.parse(_text(repo, CHANGELOG_FILE), CHANGELOG_FILE)
    released = head_log.released()
    if released and released[0] != str(version):
        findings.append(
            f"{VERSION_FILE} says {version} but the newest section of {CHANGELOG_FILE} is "
            f"{released[0]}: `inv release` changes both"
        )
    declared = _pyproject_version(repo)
    if declared is not None and declared != str(version):
        findings.append(
            f"pyproject.toml says version {declared} but {VERSION_FILE} says {version}: "
            f"take it from {VERSION_FILE} (dynamic version)"
        )
    changed = [p for p in repo.changed_paths(base) if p.startswith(CODE_PATHS)]
    base_text = repo.show(base, CHANGELOG_FILE)
    unreleased = head_log.section(cl.UNRELEASED)
    assert unreleased is not None
    before = _unreleased_body(base_text) if base_text is not None else None
    if changed and head_log.body(unreleased) == before:
        shown = ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "")
        findings.append(
            f"code changed ({shown}) but the Unreleased section of {CHANGELOG_FILE} did not: "
            "add an entry"
        )
    return CheckResult(str(version), changed, findings)


def _unreleased_body(text: str) -> list[str]:
    """The Unreleased section's lines of a changelog text (the base branch's)."""
    base_log = cl.parse(text, f"{CHANGELOG_FILE} (base)")
    section = base_log.section(cl.UNRELEASED)
    assert section is not None
    return base_log.body(section)


def _pyproject_version(repo: Repository) -> str | None:
    """The static `[project] version` of pyproject.toml; None when it is dynamic or absent."""
    path = repo.root / "pyproject.toml"
    if not path.exists():
        return None
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    version = project.get("version")
    return str(version) if version is not None else None


def _text(repo: Repository, relative: str) -> str:
    """A file of the work tree; ConfigError naming it when it is missing."""
    path = repo.root / relative
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
