"""SIGTERM and SIGINT end a backup, restore or prune the way a failure does.

While `signals_fail(what)` is active (the backup lock is held), either signal raises
`Interrupted` in the main thread: the multipart upload in progress is aborted, commands
are stopped, the lock is released by the `finally` blocks on the way out, and the task
exits 1 with one line naming the signal. Only the first signal raises; later ones are
ignored while the run cleans up (bounded by the I/O timeout; SIGKILL still stops it at
once). Inside `critical()` (swapping databases, starting the app again) a signal is held
back and raised when the block ends, so such a step is never cut in half.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from shipyard.errors import CommandFailedError

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(CommandFailedError):  # noqa: N818 - what happened, not a fault
    """A run ended by SIGTERM or SIGINT."""


@dataclass
class Guard:
    """The state of one run's signal handling."""

    what: str
    armed: bool = True
    critical: int = 0
    pending: int | None = None

    def disarm(self) -> None:
        """From now on SIGTERM/SIGINT are ignored until the run ends."""
        self.armed = False

    def fire(self, signum: int) -> None:
        """Raise Interrupted for `signum` (once), or hold it back inside a critical step."""
        if not self.armed:
            return
        if self.critical:
            self.pending = signum
            return
        self.disarm()
        raise Interrupted(f"{self.what} stopped by {signal.Signals(signum).name}")


_active: Guard | None = None


@contextmanager
def signals_fail(what: str) -> Iterator[Guard]:
    """For the block: SIGTERM/SIGINT raise Interrupted (once) in the main thread."""
    global _active
    guard = Guard(what)
    if threading.current_thread() is not threading.main_thread() or _active is not None:
        yield guard
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        guard.fire(signum)

    previous = {number: signal.signal(number, handler) for number in SIGNALS}
    _active = guard
    try:
        yield guard
    finally:
        _active = None
        for number, old in previous.items():
            signal.signal(number, old)


@contextmanager
def critical() -> Iterator[None]:
    """A step a signal must not cut in half: a signal during it is raised afterwards."""
    guard = _active
    if guard is None:
        yield
        return
    guard.critical += 1
    try:
        yield
    finally:
        guard.critical -= 1
    if not guard.critical and guard.pending is not None:
        signum, guard.pending = guard.pending, None
        guard.fire(signum)
