"""pgBackRest command lines and the parsing of what it prints. Pure: no I/O.

Every command runs inside the stack's `db` container (`docker compose exec -T db ...`,
shipyard.backup.pitr), as the db user, against the configuration in
/run/secrets/pgbackrest.conf (shipyard.backup.pitr_config), so no secret is on any
command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shipyard.backup.pitr_config import CONFIG_PATH, STANZA
from shipyard.errors import CommandFailedError

BACKUP_TYPES = ("full", "diff", "incr")
"""pgBackRest's base backup types: everything; what changed since the last full; since the
last backup of any type."""


def pgbackrest(command: str, *options: str) -> list[str]:
    """`pgbackrest --config=... --stanza=db [options] command`."""
    return ["pgbackrest", f"--config={CONFIG_PATH}", f"--stanza={STANZA}", *options, command]


def stanza_create(io_timeout: int) -> list[str]:
    """Create the stanza (idempotent: succeeds when it exists with the same database)."""
    return pgbackrest("stanza-create", f"--io-timeout={io_timeout}")


def base_backup(kind: str, *, retention_full: int, io_timeout: int) -> list[str]:
    """A base backup of `kind` (full, diff, incr); pgBackRest then expires what retention
    allows: full backups beyond `retention_full`, with the backups and WAL that depend on
    them only (the newest full is never expired)."""
    if kind not in BACKUP_TYPES:
        raise ValueError(f"backup type {kind!r} is not one of {', '.join(BACKUP_TYPES)}")
    return pgbackrest(
        "backup",
        f"--type={kind}",
        f"--repo1-retention-full={retention_full}",
        f"--io-timeout={io_timeout}",
    )


def info() -> list[str]:
    """The stanza's backups and WAL archive, as JSON."""
    return pgbackrest("info", "--output=json", "--log-level-console=warn")


def archive_listing(archive_id: str, segment: str) -> list[str]:
    """The repository's files of one WAL segment (with their times), as JSON."""
    path = f"archive/{STANZA}/{archive_id}/{segment[:16]}"
    return [
        "pgbackrest",
        f"--config={CONFIG_PATH}",
        "--log-level-console=warn",
        "--output=json",
        "repo-ls",
        path,
    ]


def check(io_timeout: int) -> list[str]:
    """`pgbackrest check`: the configuration, and that a WAL segment reaches the archive."""
    return pgbackrest("check", f"--io-timeout={io_timeout}")


def verify(io_timeout: int) -> list[str]:
    """`pgbackrest verify`: every backup file and WAL segment in the repository read back
    and checked against its checksum."""
    return pgbackrest("verify", f"--io-timeout={io_timeout}")


@dataclass(frozen=True)
class BaseBackup:
    """One pgBackRest base backup, as `pgbackrest info` reports it."""

    label: str
    type: str
    started: datetime
    stopped: datetime
    wal_start: str
    wal_stop: str
    size: int
    repo_size: int
    error: bool


@dataclass(frozen=True)
class ArchiveInfo:
    """The WAL archive of one database: its id (e.g. 15-1) and segment range."""

    id: str
    oldest: str
    newest: str


@dataclass(frozen=True)
class StanzaInfo:
    """What `pgbackrest info` says about the stanza."""

    status: str
    backups: tuple[BaseBackup, ...]
    archives: tuple[ArchiveInfo, ...]

    @property
    def newest_archive(self) -> ArchiveInfo | None:
        """The archive of the current database (the last one listed), if any WAL is in it."""
        with_wal = [archive for archive in self.archives if archive.newest]
        return with_wal[-1] if with_wal else None


def _time(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def parse_info(text: str) -> StanzaInfo:
    """The stanza's entry of `pgbackrest info --output=json`."""
    try:
        document = json.loads(text)
        stanza = next(entry for entry in document if entry.get("name") == STANZA)
        backups = tuple(
            BaseBackup(
                label=item["label"],
                type=item["type"],
                started=_time(item["timestamp"]["start"]),
                stopped=_time(item["timestamp"]["stop"]),
                wal_start=(item.get("archive") or {}).get("start") or "",
                wal_stop=(item.get("archive") or {}).get("stop") or "",
                size=int(item["info"]["size"]),
                repo_size=int(item["info"]["repository"]["delta"]),
                error=bool(item.get("error", False)),
            )
            for item in stanza.get("backup", [])
        )
        archives = tuple(
            ArchiveInfo(id=item["id"], oldest=item.get("min") or "", newest=item.get("max") or "")
            for item in stanza.get("archive", [])
        )
        status = stanza["status"]["message"]
    except (ValueError, KeyError, TypeError, StopIteration) as exc:
        raise CommandFailedError(
            f"pgbackrest info printed what Shipyard cannot read ({exc})"
        ) from None
    return StanzaInfo(status=status, backups=backups, archives=archives)


def parse_segment_time(text: str, segment: str) -> datetime | None:
    """When the segment `segment` was archived, from `repo-ls --output=json` of its
    directory (pgBackRest names the file `<segment>-<sha1>[.<ext>]`); None when absent."""
    try:
        listing = json.loads(text)
        times = [
            int(entry["time"])
            for name, entry in listing.items()
            if name.startswith(segment + "-") and entry.get("type") == "file"
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CommandFailedError(
            f"pgbackrest repo-ls printed what Shipyard cannot read ({exc})"
        ) from None
    return _time(max(times)) if times else None


@dataclass(frozen=True)
class Window:
    """The recoverable window: any moment after the oldest base backup's end up to the newest
    archived WAL segment can be recovered (`inv restore --to-time`)."""

    oldest: datetime
    newest: datetime

    def contains(self, moment: datetime) -> bool:
        """True when `moment` can be recovered to."""
        return self.oldest <= moment <= self.newest

    def describe(self) -> str:
        """One line naming the window."""
        return f"{_iso(self.oldest)} .. {_iso(self.newest)}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def recoverable_window(stanza: StanzaInfo, newest_wal: datetime | None) -> Window | None:
    """The window from `pgbackrest info` and the newest segment's archive time; None without
    a usable base backup. A backup is consistent only at its stop, and pgBackRest restores to
    a time only from a backup that stopped before it, so the window opens a second after the
    oldest stop; it ends at the newest archived WAL (or the newest stop when that is later)."""
    good = [backup for backup in stanza.backups if not backup.error]
    if not good:
        return None
    oldest = min(backup.stopped for backup in good) + timedelta(seconds=1)
    newest = max([backup.stopped for backup in good] + ([newest_wal] if newest_wal else []))
    return Window(oldest=oldest, newest=newest)
