"""One backup, restore or prune at a time per environment: an exclusive lock on the host
that runs the stack.

The lock is a directory made with an atomic `mkdir`, holding owner.json (host, pid, what,
since). A lock whose owner is a process on this machine that no longer runs (a killed
backup) is stale: it is removed with a warning naming its owner. Any other held lock
refuses with exit 3, naming the owner and how to clear it.

While the lock is held, SIGTERM and SIGINT end the run like a failure (see
shipyard.backup.interrupt), so the lock is released on the way out.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import PurePosixPath

from shipyard.backup.interrupt import signals_fail
from shipyard.errors import RefusedError
from shipyard.processes import pid_alive
from shipyard.remote import Runner

OWNER = "owner.json"


def owner_record(what: str) -> dict[str, object]:
    """Who holds the lock: this process."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "what": what,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def is_stale(owner: dict[str, object], *, host: str, alive: Callable[[int], bool]) -> bool:
    """True when the owner ran on `host` and its process is gone."""
    pid = owner.get("pid")
    return owner.get("host") == host and isinstance(pid, int) and not alive(pid)


@contextmanager
def held(
    runner: Runner, path: PurePosixPath, what: str, warn: Callable[[str], None]
) -> Iterator[None]:
    """Hold the lock at `path` (on the runner's host) for the duration of the block;
    SIGTERM and SIGINT raise Interrupted inside it, and the lock is still released."""
    with signals_fail(what) as guard:
        _acquire(runner, path, what, warn)
        try:
            yield
        finally:
            guard.disarm()
            runner.run(["rm", "-rf", str(path)])


def _acquire(runner: Runner, path: PurePosixPath, what: str, warn: Callable[[str], None]) -> None:
    runner.run(["mkdir", "-p", str(path.parent)]).raise_for_status(f"creating {path.parent}")
    for _ in range(2):
        if runner.run(["mkdir", str(path)]).ok:
            record = json.dumps(owner_record(what)).encode()
            runner.put(record, path / OWNER)
            return
        owner = _read_owner(runner, path)
        if owner is not None and is_stale(owner, host=socket.gethostname(), alive=pid_alive):
            warn(
                f"removed a stale lock {path}: {owner.get('what')} by pid {owner.get('pid')}"
                f" since {owner.get('since')} is no longer running"
            )
            runner.run(["rm", "-rf", str(path)])
            continue
        break
    owner = _read_owner(runner, path) or {}
    raise RefusedError(
        f"another {owner.get('what', 'backup operation')} holds {path}"
        f" (host {owner.get('host', '?')}, pid {owner.get('pid', '?')},"
        f" since {owner.get('since', '?')})",
        hint=f"wait for it to finish; if it is dead, remove {path}",
    )


def _read_owner(runner: Runner, path: PurePosixPath) -> dict[str, object] | None:
    result = runner.run(["cat", str(path / OWNER)])
    if not result.ok:
        return None
    try:
        owner: dict[str, object] = json.loads(result.stdout)
        return owner
    except ValueError:
        return None
