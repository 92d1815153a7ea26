"""What the next deploy cleans after a client died mid-way (pure decisions)."""

from __future__ import annotations

from shipyard.deploy import lock, recover

OLD, CURRENT, DEAD = "20261122T170000Z-0.1.0", "20261122T171000Z-0.2.0", "20261122T172000Z-0.3.0"


def test_only_releases_newer_than_current_and_never_deployed_are_unfinished() -> None:
    names = [OLD, CURRENT, DEAD]
    assert recover.unfinished(names, {CURRENT}, CURRENT) == [DEAD]
    # Rolled back from CURRENT to OLD: CURRENT was deployed once, so it stays.
    assert recover.unfinished(names, {OLD, CURRENT}, OLD) == [DEAD]
    assert recover.unfinished([OLD, CURRENT], {OLD, CURRENT}, OLD) == []
    assert recover.unfinished([DEAD], set(), None) == [DEAD]


def test_app_containers_of_other_releases_are_strays() -> None:
    containers = {"docstore-app-1": CURRENT, "docstore-app-2": DEAD, "x": None}
    assert recover.strays(containers, CURRENT) == ["docstore-app-2", "x"]
    assert recover.strays(containers, None) == []


def test_takeover_is_reported_with_owner_and_time() -> None:
    stale = lock.parse_holder('{"owner": "a@b", "since": "2026-11-22T10:00:00+00:00"}')
    assert lock.takeover_message(stale) == (
        "stale lock from a@b at 2026-11-22T10:00:00+00:00 (holder process gone): taking it over"
    )
