"""Releases: `inv release`, `inv release.notes`, `inv release.check` (docs/ci-cd.md)."""

from __future__ import annotations

from pathlib import Path

from invoke import Collection, Context, task

from shipyard import console
from shipyard.errors import ConfigError, ShipyardError


@task(
    name="release",
    default=True,
    positional=[],
    help={
        "bump": "patch, minor or major",
        "pre": "make a pre-release: alpha, beta or rc (1.3.0-rc.1, then rc.2, ...)",
        "dry-run": "print the plan and change nothing",
        "push": "push the commit and the tag to origin (default: only local)",
    },
)
@console.exits_cleanly
def release_(
    c: Context, bump: str = "", pre: str = "", dry_run: bool = False, push: bool = False
) -> None:
    """Bump app/VERSION, move Unreleased in CHANGELOG.md, commit and tag vX.Y.Z."""
    from shipyard.release.git import Repository
    from shipyard.release.plan import apply_release, plan_release

    if not bump:
        raise ConfigError("--bump is required", hint="--bump patch, minor or major")
    repo = Repository.containing(Path.cwd())
    plan = plan_release(repo, bump, pre or None, push=push)
    for line in plan.steps():
        console.say(f"would: {line}" if dry_run else line)
    if dry_run:
        console.result(f"dry run: {plan.tag} not made, nothing changed")
        return
    apply_release(repo, plan)
    signed = f"signed with {plan.signing_key}" if plan.signing_key else "not signed"
    pushed = "pushed to origin" if plan.push else "not pushed (pass --push next time, or git push)"
    console.result(f"released {plan.version}: tag {plan.tag} ({signed}), {pushed}")


@task(help={"version": "the version whose section to print (default: app/VERSION)"})
@console.exits_cleanly
def notes(c: Context, version: str = "") -> None:
    """Print one version's CHANGELOG.md section (a GitHub release's body)."""
    from shipyard.release import changelog
    from shipyard.release.git import Repository
    from shipyard.release.plan import CHANGELOG_FILE, VERSION_FILE

    root = Repository.containing(Path.cwd()).root
    name = version.removeprefix("v") or _read(root / VERSION_FILE).strip()
    text = changelog.notes(changelog.parse(_read(root / CHANGELOG_FILE), CHANGELOG_FILE), name)
    print(text, end="")


@task(help={"base": "the branch a pull request goes into (default: origin/main)"})
@console.exits_cleanly
def check(c: Context, base: str = "origin/main") -> None:
    """Fail when code changed without a changelog entry, or the version files disagree."""
    from shipyard.release.check import check_release
    from shipyard.release.git import Repository

    found = check_release(Repository.containing(Path.cwd()), base)
    for finding in found.findings:
        console.error(finding)
    if found.findings:
        raise ShipyardError(f"release check: {len(found.findings)} problem(s)")
    console.result(
        f"version {found.version}; {len(found.code_changed)} code file(s) changed since {base}"
        f"{', changelog updated' if found.code_changed else ''}"
    )


def _read(path: Path) -> str:
    """A file's text; ConfigError naming it when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None


collection = Collection("release", release_, notes, check)
