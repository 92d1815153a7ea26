"""Grandfather-father-son retention over synthetic histories (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipyard.backup.manifest import new_backup_id
from shipyard.backup.retention import Candidate, plan_retention
from shipyard.config import RetentionConfig

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CUT = timedelta(hours=24)


def _id(when: datetime) -> str:
    return new_backup_id(when)


def _plan(candidates, daily=7, weekly=4, monthly=6, now=NOW):
    policy = RetentionConfig(daily=daily, weekly=weekly, monthly=monthly)
    return {d.id: d for d in plan_retention(candidates, policy, now=now, incomplete_after=CUT)}


def _nightly(days: int, *, skip: set[int] = frozenset(), verified: set[int] = frozenset()):
    return [
        Candidate(_id(NOW - n * DAY - timedelta(hours=9)), True, n in verified)
        for n in range(days)
        if n not in skip
    ]


def test_ninety_nightly_backups_keep_7_daily_4_weekly_6_monthly():
    history = _nightly(90)
    plan = _plan(history)
    kept = sorted(d.id for d in plan.values() if d.keep)
    days = {d[:8] for d in kept}
    # 7 newest days; the newest of each of 4 ISO weeks and of 6 months (only 4 exist)
    assert {_id(NOW - n * DAY - timedelta(hours=9))[:8] for n in range(7)} <= days
    assert 7 <= len(kept) <= 7 + 4 + 4
    reasons = {reason.split()[0] for d in plan.values() if d.keep for reason in d.reasons}
    assert {"daily", "weekly", "monthly"} <= reasons
    dropped = [d for d in plan.values() if not d.keep]
    assert dropped and all(
        d.reasons == ("outside the daily, weekly and monthly counts",) for d in dropped
    )


def test_daily_counts_days_that_have_backups_not_calendar_days():
    history = _nightly(30, skip={1, 2, 3, 4, 5})  # a week-long gap
    plan = _plan(history, daily=3, weekly=0, monthly=0)
    daily = sorted(d.id for d in plan.values() if any(r.startswith("daily ") for r in d.reasons))
    expected = sorted(_id(NOW - n * DAY - timedelta(hours=9)) for n in (0, 6, 7))
    assert daily == expected


def test_several_backups_a_day_keep_the_newest_of_the_day():
    morning = Candidate(_id(NOW - timedelta(hours=6)), True)
    evening = Candidate(_id(NOW - timedelta(hours=1)), True)
    plan = _plan([morning, evening], daily=1, weekly=0, monthly=0)
    assert plan[evening.id].keep
    assert not plan[morning.id].keep


def test_only_one_backup_is_always_kept():
    only = Candidate(_id(NOW - 400 * DAY), True)
    plan = _plan([only], daily=0, weekly=0, monthly=0)
    assert plan[only.id].keep
    assert plan[only.id].reasons == ("newest complete backup (none verified yet)",)


def test_all_zero_policy_never_deletes_every_backup():
    history = _nightly(10)
    plan = _plan(history, daily=0, weekly=0, monthly=0)
    kept = [d for d in plan.values() if d.keep]
    assert len(kept) == 1
    assert kept[0].id == max(c.id for c in history)


def test_newest_verified_backup_is_kept_even_outside_the_counts():
    history = _nightly(20, verified={15})
    plan = _plan(history, daily=3, weekly=0, monthly=0)
    verified_id = _id(NOW - 15 * DAY - timedelta(hours=9))
    assert plan[verified_id].keep
    assert "newest verified backup" in plan[verified_id].reasons
    # with a verified backup there is no "newest complete" fallback
    assert not any("none verified" in r for d in plan.values() for r in d.reasons)


def test_all_incomplete_old_ones_go_young_ones_stay():
    old = Candidate(_id(NOW - 3 * DAY), False)
    young = Candidate(_id(NOW - timedelta(hours=2)), False)
    plan = _plan([old, young])
    assert not plan[old.id].keep
    assert "incomplete (no manifest)" in plan[old.id].reasons[0]
    assert plan[young.id].keep
    assert "may still be running" in plan[young.id].reasons[0]


def test_incomplete_backups_do_not_take_a_daily_slot():
    complete = Candidate(_id(NOW - DAY), True)
    newer_incomplete = Candidate(_id(NOW - timedelta(hours=30)), False)
    plan = _plan([complete, newer_incomplete], daily=1, weekly=0, monthly=0)
    assert plan[complete.id].keep
    assert "daily" in plan[complete.id].reasons[0]


def test_weekly_uses_iso_weeks_and_monthly_calendar_months():
    sundays = [Candidate(_id(datetime(2025, 3, day, 3, tzinfo=UTC)), True) for day in (2, 9, 16)]
    mondays = [Candidate(_id(datetime(2025, 3, day, 3, tzinfo=UTC)), True) for day in (3, 10)]
    plan = _plan(sundays + mondays, daily=0, weekly=2, monthly=1)
    weekly = {d.id for d in plan.values() if any(r.startswith("weekly") for r in d.reasons)}
    # the newest two ISO weeks with backups: W11 (Mar 10-16: newest is the 16th), W10 (3-9)
    assert weekly == {
        _id(datetime(2025, 3, 16, 3, tzinfo=UTC)),
        _id(datetime(2025, 3, 9, 3, tzinfo=UTC)),
    }
    monthly = [d for d in plan.values() if any(r.startswith("monthly") for r in d.reasons)]
    assert [d.id for d in monthly] == [_id(datetime(2025, 3, 16, 3, tzinfo=UTC))]


def test_decisions_come_newest_first_and_cover_everyone():
    history = [*_nightly(5), Candidate(_id(NOW - 10 * DAY), False)]
    policy = RetentionConfig(daily=2, weekly=0, monthly=0)
    decisions = plan_retention(history, policy, now=NOW, incomplete_after=CUT)
    assert [d.id for d in decisions] == sorted((c.id for c in history), reverse=True)


@pytest.mark.parametrize("field", ["daily", "weekly", "monthly"])
def test_negative_counts_are_refused_by_the_config(field):
    with pytest.raises(ValueError):
        RetentionConfig(**{field: -1})
