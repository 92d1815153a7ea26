"""The next version, computed with the `semver` library (pure: no git, no files).

`1.2.0 -> 1.3.0-rc.1 -> 1.3.0-rc.2 -> 1.3.0`: a bump from a pre-release finalizes it when the
pre-release already leads to that kind of release (as npm's `semver inc` does), and `--pre`
numbers the pre-releases of one release `NAME.1`, `NAME.2`, ...
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

import semver

from shipyard.errors import ConfigError

Bump = Literal["major", "minor", "patch"]
Pre = Literal["alpha", "beta", "rc"]
BUMPS: tuple[str, ...] = get_args(Bump)
PRE_RELEASES: tuple[str, ...] = get_args(Pre)
TAG_PREFIX = "v"


def parse(text: str, where: str) -> semver.Version:
    """A semantic version, or ConfigError naming `where` it came from."""
    try:
        return semver.Version.parse(text)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a semantic version (e.g. 1.4.0)") from None


def release_of(current: semver.Version, bump: str) -> semver.Version:
    """The final release a `bump` from `current` leads to."""
    if bump not in BUMPS:
        raise ConfigError(f"--bump {bump!r}: expected one of {', '.join(BUMPS)}")
    if current.prerelease:
        final = current.finalize_version()
        finalizes = {
            "patch": True,
            "minor": final.patch == 0,
            "major": final.minor == 0 and final.patch == 0,
        }
        if finalizes[bump]:
            return final
    return current.next_version(part=bump)


def next_version(current: semver.Version, bump: str, pre: str | None = None) -> semver.Version:
    """The version after `current` for `--bump bump [--pre pre]`."""
    target = release_of(current, bump)
    if pre is None:
        return target
    if pre not in PRE_RELEASES:
        raise ConfigError(f"--pre {pre!r}: expected one of {', '.join(PRE_RELEASES)}")
    same_release = current.prerelease and current.finalize_version() == target
    if same_release and str(current.prerelease).split(".")[0] == pre:
        return current.bump_prerelease(token=pre)
    return target.replace(prerelease=f"{pre}.1")


def newest_tag(tags: Iterable[str]) -> semver.Version | None:
    """The greatest semantic version among `v*` tags (other tags are ignored)."""
    versions = [
        semver.Version.parse(tag[len(TAG_PREFIX) :])
        for tag in tags
        if tag.startswith(TAG_PREFIX) and semver.Version.is_valid(tag[len(TAG_PREFIX) :])
    ]
    return max(versions, default=None)


def previous_final(tags: Iterable[str], before: semver.Version) -> semver.Version | None:
    """The newest final (not pre-release) tagged version below `before`: where a final
    release's compare link starts."""
    finals = [
        version
        for tag in tags
        if tag.startswith(TAG_PREFIX) and semver.Version.is_valid(tag[len(TAG_PREFIX) :])
        for version in [semver.Version.parse(tag[len(TAG_PREFIX) :])]
        if not version.prerelease and version < before
    ]
    return max(finals, default=None)
