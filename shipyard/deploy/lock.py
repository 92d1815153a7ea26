"""The deploy lock on the VM: an atomic `mkdir deploy.lock` holding who, when and what,
and a keeper process that lives exactly as long as the deploy's SSH connection.

A second deploy is refused (exit 3) naming the holder while its keeper runs. A lock whose
keeper is provably gone (its pid no longer runs with the recorded start time and boot id:
the client was killed, its connection dropped) is stale: the next deploy reports
"stale lock from OWNER at TIME (holder process gone): taking it over" and claims it with an
atomic rename, so two deploys cannot both take it. A lock that names no keeper is never
broken: it is reported with its age, and only `inv lock.release --force` removes it.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, NoReturn

from shipyard import console
from shipyard.deploy.plan import (
    holder_state_argv,
    keeper_argv,
    parse_holder_state,
    read_lock_argv,
    release_lock_argv,
)
from shipyard.errors import CommandFailedError, RefusedError
from shipyard.vm.target import Target

STALE_AFTER_SECONDS = 3600


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lock, since when, for what."""

    owner: str
    since: str
    version: str
    action: str

    def describe(self, now: datetime | None = None) -> str:
        """`alice@laptop since 2026-11-22T17:30:00+00:00 (deploy 0.1.0, 3 min ago)`."""
        age = self.age_seconds(now)
        ago = "" if age is None else f", {_age(age)} ago"
        stale = " — STALE?" if age is not None and age > STALE_AFTER_SECONDS else ""
        return f"{self.owner} since {self.since} ({self.action} {self.version}{ago}){stale}"

    def age_seconds(self, now: datetime | None = None) -> int | None:
        """Seconds since the lock was taken (None when its time cannot be read)."""
        try:
            since = datetime.fromisoformat(self.since)
        except ValueError:
            return None
        return int(((now or datetime.now(UTC)) - since).total_seconds())


def _age(seconds: int) -> str:
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def whoami() -> str:
    """`user@host` of this process."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def parse_holder(text: str) -> LockHolder:
    """The holder from owner.json (unreadable fields say so)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = {}
    return LockHolder(
        owner=str(data.get("owner", "unknown")),
        since=str(data.get("since", "unknown")),
        version=str(data.get("version", "?")),
        action=str(data.get("action", "deploy")),
    )


def holder(target: Target) -> LockHolder | None:
    """The current holder, or None when the lock is free."""
    result = target.probe(read_lock_argv(target.layout))
    if result.ok:
        return parse_holder(result.stdout)
    exists = target.probe(["test", "-d", target.layout.lock])
    return parse_holder("") if exists.ok else None


@dataclass(frozen=True)
class Taken:
    """The lock, now ours; `took_over` says whose stale lock it replaced (empty if none)."""

    holder: LockHolder
    took_over: str = ""


def takeover_message(stale: LockHolder) -> str:
    """What a deploy prints and audits when it takes over a dead holder's lock."""
    return f"stale lock from {stale.owner} at {stale.since} (holder process gone): taking it over"


@contextmanager
def held(target: Target, *, version: str, action: str = "deploy") -> Iterator[Taken]:
    """Take the lock for the block (a dead holder's is taken over, reported); RefusedError
    (exit 3) naming the holder while it is alive or cannot be proven dead."""
    mine = LockHolder(whoami(), datetime.now(UTC).isoformat(timespec="seconds"), version, action)
    facts = {"owner": mine.owner, "since": mine.since, "version": version, "action": action}
    with ExitStack() as keeper:
        answer = _start_keeper(target, keeper, facts, claim="")
        took_over = ""
        if answer == "busy":
            other = holder(target)
            state, keeper_id = _keeper_state(target)
            if other is None or state != "dead":
                _refuse(target, other, state)
            took_over = takeover_message(other)
            console.warn(took_over)
            answer = _start_keeper(target, keeper, facts, claim=keeper_id)
            if answer != "locked":
                _refuse(target, holder(target), "alive")
        try:
            yield Taken(mine, took_over)
        finally:
            target.run(release_lock_argv(target.layout), "releasing the deploy lock")


def _start_keeper(target: Target, stack: ExitStack, facts: dict[str, str], claim: str) -> str:
    """Start the keeper; `locked` (it keeps running until `stack` closes), `busy` or `lost`."""
    stream = stack.enter_context(target.runner.stream_out(keeper_argv(target.layout, facts, claim)))
    first = _first_word(stream)
    if first not in ("locked", "busy", "lost"):
        raise CommandFailedError(f"taking the deploy lock failed: unexpected answer {first!r}")
    if first != "locked":
        stack.close()
    return first


def _first_word(stream: BinaryIO) -> str:
    line = b""
    while not line.endswith(b"\n"):
        chunk = stream.read(1)
        if not chunk:
            break
        line += chunk
    return line.decode(errors="replace").split(" ")[0].strip()


def _refuse(target: Target, other: LockHolder | None, state: str) -> NoReturn:
    who = other.describe() if other else "another deploy (it just finished?)"
    alive = " (its deploy is running)" if state == "alive" else ""
    raise RefusedError(
        f"{target.env.name} is locked by {who}{alive}",
        hint="wait for it to finish; if its client died, check `inv lock.status "
        f"--env {target.env.name}`, then `inv lock.release --env {target.env.name} --force`",
    )


def holder_alive(target: Target) -> str:
    """`alive`, `gone` or `unknown`: whether the lock's keeper process still runs."""
    state, _ = _keeper_state(target)
    return {"dead": "gone"}.get(state, state)


def _keeper_state(target: Target) -> tuple[str, str]:
    return parse_holder_state(target.probe(holder_state_argv(target.layout)).stdout)


def force_release(target: Target) -> LockHolder | None:
    """Remove the lock whoever holds it; returns the holder it removed."""
    other = holder(target)
    if other is not None:
        target.run(release_lock_argv(target.layout), "releasing the deploy lock")
    return other
