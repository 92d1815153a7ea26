"""CHANGELOG.md edits: Unreleased moved under a version, pre-releases folded, links kept."""

import pytest

from shipyard.errors import ConfigError
from shipyard.release import changelog as cl

BEFORE = """\
# Changelog

Intro text, kept as written.

## [Unreleased]

### Added
- `inv release`, with a
  continuation line.

### Fixed
- a bug

## [1.2.0] - 2026-01-02

### Added
- the first thing

[Unreleased]: https://github.com/acme/shipyard/compare/v1.2.0...HEAD
[1.2.0]: https://github.com/acme/shipyard/releases/tag/v1.2.0
"""


def test_release_moves_unreleased_and_updates_the_links() -> None:
    text = cl.release(
        cl.parse(BEFORE),
        "1.3.0",
        "2026-12-03",
        repository="https://github.com/acme/shipyard",
        previous_tag="v1.2.0",
        folded=[],
    )
    assert (
        text
        == """\
# Changelog

Intro text, kept as written.

## [Unreleased]

## [1.3.0] - 2026-12-03

### Added
- `inv release`, with a
  continuation line.

### Fixed
- a bug

## [1.2.0] - 2026-01-02

### Added
- the first thing

[Unreleased]: https://github.com/acme/shipyard/compare/v1.3.0...HEAD
[1.3.0]: https://github.com/acme/shipyard/compare/v1.2.0...v1.3.0
[1.2.0]: https://github.com/acme/shipyard/releases/tag/v1.2.0
"""
    )


def test_a_final_release_takes_in_its_pre_releases() -> None:
    repo = "https://github.com/acme/shipyard"
    rc1 = cl.release(
        cl.parse(BEFORE), "1.3.0-rc.1", "2026-12-01", repository=repo,
        previous_tag="v1.2.0", folded=[],
    )  # fmt: skip
    with_more = rc1.replace("## [Unreleased]\n", "## [Unreleased]\n\n### Fixed\n- another bug\n")
    final = cl.release(
        cl.parse(with_more), "1.3.0", "2026-12-03", repository=repo,
        previous_tag="v1.2.0", folded=["1.3.0-rc.1"],
    )  # fmt: skip
    parsed = cl.parse(final)
    assert parsed.released() == ["1.3.0", "1.2.0"]
    assert cl.notes(parsed, "1.3.0") == (
        "### Added\n- `inv release`, with a\n  continuation line.\n\n"
        "### Fixed\n- another bug\n- a bug\n"
    )
    assert parsed.links() == {
        "Unreleased": f"{repo}/compare/v1.3.0...HEAD",
        "1.3.0": f"{repo}/compare/v1.2.0...v1.3.0",
        "1.2.0": f"{repo}/releases/tag/v1.2.0",
    }


def test_notes_print_one_section_and_name_the_released_ones_otherwise() -> None:
    parsed = cl.parse(BEFORE)
    assert cl.notes(parsed, "1.2.0") == "### Added\n- the first thing\n"
    with pytest.raises(ConfigError, match=r"no section for 9\.9\.9 \(released: 1\.2\.0\)"):
        cl.notes(parsed, "9.9.9")


def test_entries_and_the_repository_link_are_found() -> None:
    parsed = cl.parse(BEFORE)
    unreleased = parsed.section(cl.UNRELEASED)
    assert unreleased is not None and cl.has_entries(parsed.body(unreleased))
    assert not cl.has_entries(["### Added", "", "Nothing yet."])
    assert cl.repository_from_links(parsed) == "https://github.com/acme/shipyard"


def test_a_changelog_without_unreleased_is_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"CHANGELOG\.md: no `## \[Unreleased\]` section"):
        cl.parse("# Changelog\n\n## [1.0.0] - 2026-01-01\n- x\n")
