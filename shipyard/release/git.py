"""The git commands a release runs, built as argv lists, and a repository that runs them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ConfigError
from shipyard.remote import LocalRunner

_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")
_URL = re.compile(r"^(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>.+)$")


def commit_command(message: str, paths: list[str]) -> list[str]:
    """Commit exactly `paths` (nothing else that may be staged)."""
    return ["git", "commit", "--quiet", "--message", message, "--", *paths]


def tag_command(tag: str, message: str, *, signed: bool) -> list[str]:
    """An annotated tag, signed with git's configured key when `signed`."""
    sign = "--sign" if signed else "--annotate"
    # verbatim: the notes' `### Added` lines are not comments
    return ["git", "tag", sign, "--cleanup=verbatim", "--message", message, tag]


def push_command(tag: str) -> list[str]:
    """Push the current branch and the tag together: both land or neither does."""
    return ["git", "push", "--atomic", "origin", "HEAD", f"refs/tags/{tag}"]


def web_url(remote: str) -> str | None:
    """The https address of a hosted repository from its clone URL (`git@github.com:o/r.git`,
    `https://github.com/o/r.git`, ...); None for a local path."""
    m = _URL.match(remote) or (_SCP_LIKE.match(remote) if "://" not in remote else None)
    if not m or "." not in m["host"]:
        return None
    path = m["path"].rstrip("/").removesuffix(".git")
    return f"https://{m['host']}/{path}"


@dataclass(frozen=True)
class Repository:
    """A git work tree, found from a directory inside it."""

    root: Path
    runner: LocalRunner

    @classmethod
    def containing(cls, directory: Path) -> Repository:
        """The work tree `directory` is in; ConfigError outside of one."""
        result = LocalRunner(directory).run(["git", "rev-parse", "--show-toplevel"])
        if not result.ok:
            raise ConfigError(f"{directory} is not inside a git work tree")
        root = Path(result.stdout.strip())
        return cls(root, LocalRunner(root))

    def output(self, argv: list[str], what: str) -> str:
        """The stdout of a git command that must succeed."""
        return self.runner.run(argv).raise_for_status(what).stdout

    def dirty_paths(self) -> list[str]:
        """Paths with uncommitted changes or untracked files (what `git status` lists)."""
        text = self.output(["git", "status", "--porcelain"], "git status")
        return [line[3:] for line in text.splitlines() if line.strip()]

    def tags(self) -> list[str]:
        """Every `v*` tag."""
        return self.output(["git", "tag", "--list", "v*"], "git tag --list").split()

    def config(self, key: str) -> str | None:
        """A git config value, or None when it is not set."""
        result = self.runner.run(["git", "config", "--get", key])
        return result.stdout.strip() or None if result.ok else None

    def origin_url(self) -> str | None:
        """Where `origin` fetches from, when there is an origin."""
        return self.config("remote.origin.url")

    def show(self, ref: str, path: str) -> str | None:
        """A file's text at `ref`, or None when it does not exist there."""
        result = self.runner.run(["git", "show", f"{ref}:{path}"])
        return result.stdout if result.ok else None

    def has_ref(self, ref: str) -> bool:
        """True when `ref` names a commit here."""
        return self.runner.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]).ok

    def changed_paths(self, base: str) -> list[str]:
        """Paths changed between the merge base of `base` and HEAD (what a pull request
        changes)."""
        text = self.output(["git", "diff", "--name-only", f"{base}...HEAD"], "git diff")
        return text.split()
