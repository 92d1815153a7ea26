"""`CHANGELOG.md` in the Keep a Changelog format, edited as text so that nothing the team wrote
is reformatted (pure: strings in, strings out).

A release moves the `Unreleased` section's entries under `## [X.Y.Z] - DATE`, leaves an empty
`Unreleased` above it, and keeps the link definitions at the bottom right:
`[Unreleased]: REPO/compare/vX.Y.Z...HEAD` and `[X.Y.Z]: REPO/compare/vPREVIOUS...vX.Y.Z`.
A final release takes in its own pre-releases' sections (`1.3.0-rc.1`, ...), so the file keeps
one section per release while the pre-release tags stay in git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.errors import ConfigError

UNRELEASED = "Unreleased"
_HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\S+))?\s*$")
_LINK = re.compile(r"^\[(?P<name>[^\]]+)\]: (?P<url>\S+)\s*$")
_CATEGORY = re.compile(r"^### (?P<name>.+?)\s*$")
_ENTRY = re.compile(r"^[-*] \S")
CATEGORY_ORDER = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


@dataclass(frozen=True)
class Section:
    """One `## [NAME] - DATE` section: its heading line and the lines of its body."""

    name: str
    date: str | None
    start: int
    end: int
    """Index of the first line after the section (the next heading or the link definitions)."""


@dataclass(frozen=True)
class Changelog:
    """The file's lines, its sections in order, and where its link definitions begin."""

    path: str
    lines: list[str]
    sections: list[Section]
    links_start: int

    def section(self, name: str) -> Section | None:
        """The section called `name` (a version, or `Unreleased`)."""
        return next((s for s in self.sections if s.name == name), None)

    def body(self, section: Section) -> list[str]:
        """The lines under a section's heading, without surrounding blank lines."""
        return _trim(self.lines[section.start + 1 : section.end])

    def links(self) -> dict[str, str]:
        """The link definitions at the bottom: name -> URL."""
        found = (_LINK.match(line) for line in self.lines[self.links_start :])
        return {m["name"]: m["url"] for m in found if m}

    def released(self) -> list[str]:
        """The names of the released sections, newest first (as written)."""
        return [s.name for s in self.sections if s.name != UNRELEASED]


def parse(text: str, path: str = "CHANGELOG.md") -> Changelog:
    """Find the sections and the link definitions; ConfigError without `## [Unreleased]`."""
    lines = text.splitlines()
    links_start = len(lines)
    while links_start > 0 and (
        _LINK.match(lines[links_start - 1]) or not lines[links_start - 1].strip()
    ):
        links_start -= 1
    starts = [(i, m) for i, line in enumerate(lines[:links_start]) if (m := _HEADING.match(line))]
    sections = [
        Section(m["name"], m["date"], i, starts[n + 1][0] if n + 1 < len(starts) else links_start)
        for n, (i, m) in enumerate(starts)
    ]
    changelog = Changelog(path, lines, sections, links_start)
    if changelog.section(UNRELEASED) is None:
        raise ConfigError(
            f"{path}: no `## [{UNRELEASED}]` section",
            hint="keep one at the top, as https://keepachangelog.com/en/1.1.0/ shows",
        )
    return changelog


def has_entries(body: list[str]) -> bool:
    """True when a section body lists at least one change (a `- ` line)."""
    return any(_ENTRY.match(line) for line in body)


def notes(changelog: Changelog, name: str) -> str:
    """The body of one section (for a GitHub release); ConfigError when there is none."""
    section = changelog.section(name)
    if section is None:
        known = ", ".join(changelog.released()) or "none yet"
        raise ConfigError(f"{changelog.path}: no section for {name} (released: {known})")
    return "\n".join(changelog.body(section)) + "\n"


def release(
    changelog: Changelog,
    version: str,
    date: str,
    *,
    repository: str,
    previous_tag: str | None,
    folded: list[str],
) -> str:
    """The file's text with `Unreleased` moved under `## [version] - date`, the sections named
    in `folded` (this release's pre-releases) taken into it, and the links updated."""
    unreleased = changelog.section(UNRELEASED)
    assert unreleased is not None
    bodies = [changelog.body(unreleased)]
    bodies += [changelog.body(s) for s in changelog.sections if s.name in folded]
    body = bodies[0] if len(bodies) == 1 else merge_bodies(bodies)
    head = changelog.lines[: unreleased.start]
    kept = [
        line
        for s in changelog.sections
        if s.name != UNRELEASED and s.name not in folded
        for line in changelog.lines[s.start : s.end]
    ]
    new_section = [f"## [{UNRELEASED}]", "", f"## [{version}] - {date}", "", *body, ""]
    tag = f"v{version}"
    compare = (
        f"{repository}/compare/{previous_tag}...{tag}"
        if previous_tag
        else f"{repository}/releases/tag/{tag}"
    )
    links = {
        UNRELEASED: f"{repository}/compare/{tag}...HEAD",
        version: compare,
        **{k: v for k, v in changelog.links().items() if k != UNRELEASED and k not in folded},
    }
    link_lines = [f"[{name}]: {url}" for name, url in links.items()]
    text = [*head, *new_section, *_trim(kept), "", *link_lines]
    return "\n".join(_squeeze(text)) + "\n"


def merge_bodies(bodies: list[list[str]]) -> list[str]:
    """Section bodies merged by `### Category` (Keep a Changelog's order first), newest first."""
    merged: dict[str, list[str]] = {}
    for body in bodies:
        category = ""
        for line in body:
            if m := _CATEGORY.match(line):
                category = m["name"]
                merged.setdefault(category, [])
            elif line.strip():
                merged.setdefault(category, []).append(line)
    order = sorted(
        merged,
        key=lambda c: CATEGORY_ORDER.index(c) if c in CATEGORY_ORDER else len(CATEGORY_ORDER),
    )
    out: list[str] = [*merged.pop("", [])] if "" in merged else []
    for category in (c for c in order if c):
        out += ([""] if out else []) + [f"### {category}", *merged[category]]
    return out


def repository_from_links(changelog: Changelog) -> str | None:
    """The repository URL the existing `[Unreleased]` compare link points into."""
    url = changelog.links().get(UNRELEASED, "")
    return url.split("/compare/")[0] if "/compare/" in url else None


def _trim(lines: list[str]) -> list[str]:
    """`lines` without leading and trailing blank lines."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _squeeze(lines: list[str]) -> list[str]:
    """No two blank lines in a row."""
    return [line for i, line in enumerate(lines) if line.strip() or i == 0 or lines[i - 1].strip()]
