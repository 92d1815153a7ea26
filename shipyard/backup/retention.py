"""Grandfather-father-son retention, as a pure plan: which backups go, and why.

Complete backups are kept when they are the newest of one of the last `daily` days, the
last `weekly` ISO weeks or the last `monthly` months that have backups (restic's
semantics); the newest verified backup is always kept (the newest complete one while none
is verified), so a plan never deletes every backup. Incomplete backups (no manifest) are
deleted once older than the cut-off; younger ones may still be running.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shipyard.backup.manifest import started_at
from shipyard.config import RetentionConfig


@dataclass(frozen=True)
class Candidate:
    """What retention needs to know about one backup."""

    id: str
    complete: bool
    verified: bool = False


@dataclass(frozen=True)
class Decision:
    """Keep or delete one backup, with the reasons."""

    id: str
    keep: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _buckets(
    complete: Sequence[Candidate],
    count: int,
    label: str,
    period: Callable[[datetime], Hashable],
    show: Callable[[datetime], str],
    reasons: dict[str, list[str]],
) -> None:
    seen: set[Hashable] = set()
    for candidate in complete:  # newest first
        when = started_at(candidate.id)
        key = period(when)
        if key in seen:
            continue
        if len(seen) >= count:
            break
        seen.add(key)
        reasons[candidate.id].append(f"{label} {show(when)}")


def plan_retention(
    candidates: Sequence[Candidate],
    policy: RetentionConfig,
    *,
    now: datetime,
    incomplete_after: timedelta,
) -> list[Decision]:
    """A decision for every candidate, newest first."""
    ordered = sorted(candidates, key=lambda candidate: candidate.id, reverse=True)
    complete = [candidate for candidate in ordered if candidate.complete]
    reasons: dict[str, list[str]] = {candidate.id: [] for candidate in ordered}
    _buckets(
        complete, policy.daily, "daily", lambda t: t.date(), lambda t: f"{t:%Y-%m-%d}", reasons
    )
    _buckets(
        complete,
        policy.weekly,
        "weekly",
        lambda t: t.isocalendar()[:2],
        lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2]),
        reasons,
    )
    _buckets(
        complete,
        policy.monthly,
        "monthly",
        lambda t: (t.year, t.month),
        lambda t: f"{t:%Y-%m}",
        reasons,
    )
    verified = [candidate for candidate in complete if candidate.verified]
    if verified:
        reasons[verified[0].id].append("newest verified backup")
    elif complete:
        reasons[complete[0].id].append("newest complete backup (none verified yet)")

    decisions = []
    for candidate in ordered:
        if candidate.complete:
            kept = reasons[candidate.id]
            why = tuple(kept) if kept else ("outside the daily, weekly and monthly counts",)
            decisions.append(Decision(candidate.id, bool(kept), why))
            continue
        age = now - started_at(candidate.id)
        hours = age.total_seconds() / 3600
        if age > incomplete_after:
            reason = f"incomplete (no manifest), started {hours:.0f} h ago"
            decisions.append(Decision(candidate.id, False, (reason,)))
        else:
            reason = f"incomplete, started {hours:.1f} h ago: may still be running"
            decisions.append(Decision(candidate.id, True, (reason,)))
    return decisions
