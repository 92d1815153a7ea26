"""`inv rollback`: which release it goes back to (pure)."""

from __future__ import annotations

import pytest

from shipyard.deploy.manual_rollback import RollbackPlan, choose
from shipyard.errors import ConfigError

A, B, C = "20261122T170000Z-0.1.0", "20261122T171000Z-0.2.0", "20261122T172000Z-0.3.0"


def test_default_is_the_newest_finished_release_before_the_current() -> None:
    assert choose([A, B, C], C, None) == B
    assert choose([A, C], C, None) == A
    # After rolling back from C to B, the next default is A (C is newer, not "previous").
    assert choose([A, B, C], B, None) == A


def test_to_names_a_finished_release_other_than_the_current() -> None:
    assert choose([A, B, C], B, C) == C
    with pytest.raises(ConfigError, match="already the current release"):
        choose([A, B], B, B)
    with pytest.raises(ConfigError, match="no finished release 2026"):
        choose([A, B], B, "20261122T180000Z-9")


def test_nothing_to_go_back_to_is_bad_input() -> None:
    with pytest.raises(ConfigError, match="nothing was deployed"):
        choose([], None, None)
    with pytest.raises(ConfigError, match=f"no release before {A}"):
        choose([A], A, None)


def test_plan_names_both_releases() -> None:
    steps = RollbackPlan("sandbox", C, B, "0.2.0", "abc", "docstore-app:0.2.0").steps()
    assert B in steps[0] and C in steps[0] and "0.2.0" in steps[0]
    assert f"`current` at {B}" in steps[-1]
