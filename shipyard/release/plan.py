"""`inv release`: what a release will do (the plan, made without changing anything), and doing
it: files, commit, annotated tag, and the push only when asked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ConfigError
from shipyard.release import changelog as cl
from shipyard.release.git import Repository, commit_command, push_command, tag_command, web_url
from shipyard.release.version import TAG_PREFIX, newest_tag, next_version, parse, previous_final

VERSION_FILE = "app/VERSION"
CHANGELOG_FILE = "CHANGELOG.md"


@dataclass(frozen=True)
class ReleasePlan:
    """Everything a release changes, decided before anything is touched."""

    current: str
    version: str
    tag: str
    date: str
    previous_tag: str | None
    folded: list[str]
    """Pre-release sections this final release takes in."""
    signing_key: str | None
    changelog_text: str
    push: bool

    @property
    def commit_message(self) -> str:
        """The release commit's message."""
        return f"release: {self.version}"

    def steps(self) -> list[str]:
        """The plan, one line per step, as `--dry-run` prints it."""
        moved = f"Unreleased{''.join(f' + {name}' for name in self.folded)}"
        compare = f"{self.previous_tag}...{self.tag}" if self.previous_tag else "first release"
        signed = f"signed with {self.signing_key}" if self.signing_key else "not signed"
        steps = [
            f"{VERSION_FILE}: {self.current} -> {self.version}",
            f"{CHANGELOG_FILE}: {moved} -> [{self.version}] - {self.date} ({compare})",
            f"commit '{self.commit_message}'",
            f"annotated tag {self.tag} ({signed})",
        ]
        steps.append(f"push HEAD and {self.tag} to origin" if self.push else "no push (--push)")
        return steps


def plan_release(
    repo: Repository,
    bump: str,
    pre: str | None,
    *,
    push: bool = False,
    today: dt.date | None = None,
) -> ReleasePlan:
    """The release `--bump bump [--pre pre]` makes; ConfigError (exit 2) for a dirty tree, an
    empty Unreleased section, a version not above the newest tag, or no repository URL."""
    dirty = repo.dirty_paths()
    if dirty:
        raise ConfigError(
            f"the work tree has uncommitted changes ({', '.join(dirty[:3])}"
            f"{', ...' if len(dirty) > 3 else ''})",
            hint="commit or stash them first",
        )
    version_path = repo.root / VERSION_FILE
    current = parse(_read(version_path).strip(), f"{version_path}:1")
    version = next_version(current, bump, pre)
    tags = repo.tags()
    newest = newest_tag(tags)
    if newest is not None and version <= newest:
        raise ConfigError(
            f"{TAG_PREFIX}{version} is not greater than the newest tag {TAG_PREFIX}{newest}",
            hint=f"{VERSION_FILE} says {current}: set it to the released version, or bump more",
        )
    changelog = cl.parse(_read(repo.root / CHANGELOG_FILE), CHANGELOG_FILE)
    folded = (
        [name for name in changelog.released() if _pre_release_of(name, str(version))]
        if not version.prerelease
        else []
    )
    unreleased = changelog.section(cl.UNRELEASED)
    assert unreleased is not None
    if not cl.has_entries(changelog.body(unreleased)) and not folded:
        raise ConfigError(
            f"{CHANGELOG_FILE}: the Unreleased section lists no change",
            hint="add the release's entries under ## [Unreleased] first",
        )
    repository = cl.repository_from_links(changelog) or web_url(repo.origin_url() or "")
    if repository is None:
        raise ConfigError(
            f"{CHANGELOG_FILE}: no [Unreleased] compare link and origin is not a hosted URL",
            hint="add `[Unreleased]: https://github.com/OWNER/REPO/compare/v0.0.0...HEAD` "
            "at its end, or set origin",
        )
    previous = previous_final(tags, version) if not version.prerelease else newest
    previous_tag = f"{TAG_PREFIX}{previous}" if previous else None
    date = (today or dt.date.today()).isoformat()
    text = cl.release(
        changelog,
        str(version),
        date,
        repository=repository,
        previous_tag=previous_tag,
        folded=folded,
    )
    signing_key = repo.config("user.signingkey")
    return ReleasePlan(
        current=str(current),
        version=str(version),
        tag=f"{TAG_PREFIX}{version}",
        date=date,
        previous_tag=previous_tag,
        folded=folded,
        signing_key=signing_key,
        changelog_text=text,
        push=push,
    )


def apply_release(repo: Repository, plan: ReleasePlan) -> None:
    """Write the version and the changelog, commit them, tag, and push when the plan says so."""
    (repo.root / VERSION_FILE).write_text(plan.version + "\n", encoding="utf-8")
    (repo.root / CHANGELOG_FILE).write_text(plan.changelog_text, encoding="utf-8")
    paths = [VERSION_FILE, CHANGELOG_FILE]
    repo.runner.run(["git", "add", "--", *paths]).raise_for_status("git add")
    repo.runner.run(commit_command(plan.commit_message, paths)).raise_for_status("git commit")
    message = f"{plan.version}\n\n" + cl.notes(cl.parse(plan.changelog_text), plan.version)
    tag = tag_command(plan.tag, message, signed=plan.signing_key is not None)
    repo.runner.run(tag).raise_for_status(f"git tag {plan.tag}")
    if plan.push:
        repo.runner.run(push_command(plan.tag)).raise_for_status("git push")


def _pre_release_of(name: str, version: str) -> bool:
    """True when section `name` is a pre-release of `version` (`1.3.0-rc.1` of `1.3.0`)."""
    return name.startswith(f"{version}-")


def _read(path: Path) -> str:
    """A file's text; ConfigError naming it when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
