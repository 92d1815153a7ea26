"""The next version: semver bumps, pre-release numbering, finalizing, and the newest tag."""

import pytest
import semver

from shipyard.errors import ConfigError
from shipyard.release.version import newest_tag, next_version, parse, previous_final


@pytest.mark.parametrize(
    ("current", "bump", "pre", "expected"),
    [
        ("1.2.0", "patch", None, "1.2.1"),
        ("1.2.0", "minor", None, "1.3.0"),
        ("1.2.3", "major", None, "2.0.0"),
        ("1.2.0", "minor", "rc", "1.3.0-rc.1"),
        ("1.3.0-rc.1", "minor", "rc", "1.3.0-rc.2"),
        ("1.3.0-rc.2", "minor", None, "1.3.0"),
        ("1.3.0-beta.2", "minor", "rc", "1.3.0-rc.1"),
        ("1.3.0-alpha.1", "minor", "beta", "1.3.0-beta.1"),
        ("1.3.0-rc.1", "patch", None, "1.3.0"),
        ("1.3.1-rc.1", "minor", None, "1.4.0"),
        ("2.0.0-rc.1", "major", None, "2.0.0"),
        ("2.1.0-rc.1", "major", "rc", "3.0.0-rc.1"),
        ("1.2.3", "patch", "alpha", "1.2.4-alpha.1"),
    ],
)
def test_next_version(current: str, bump: str, pre: str | None, expected: str) -> None:
    assert str(next_version(semver.Version.parse(current), bump, pre)) == expected


@pytest.mark.parametrize(("bump", "pre"), [("minr", None), ("minor", "gamma")])
def test_unknown_bump_or_pre_release_is_bad_input(bump: str, pre: str | None) -> None:
    with pytest.raises(ConfigError, match="expected one of"):
        next_version(semver.Version.parse("1.0.0"), bump, pre)


def test_parse_names_where_the_bad_version_came_from() -> None:
    with pytest.raises(ConfigError, match=r"app/VERSION:1: 'v1\.2' is not a semantic version"):
        parse("v1.2", "app/VERSION:1")


def test_newest_tag_compares_as_semver_and_ignores_other_tags() -> None:
    tags = ["v1.9.0", "v1.10.0-rc.1", "v1.10.0-rc.2", "deploy-2026", "vnext", "v1.2"]
    assert str(newest_tag(tags)) == "1.10.0-rc.2"
    assert newest_tag(["latest"]) is None


def test_previous_final_skips_pre_releases() -> None:
    tags = ["v1.2.0", "v1.3.0-rc.1", "v1.3.0-rc.2", "v1.1.0"]
    assert str(previous_final(tags, semver.Version.parse("1.3.0"))) == "1.2.0"
    assert previous_final(tags, semver.Version.parse("1.0.0")) is None
