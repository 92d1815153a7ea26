"""Backup ids and `manifest.json`: what a complete backup holds, written last."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shipyard.errors import CommandFailedError

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "postgres.dump"
INDEX = "objects.json"
VERIFIED = "verified.json"
ID_FORMAT = "%Y%m%dT%H%M%SZ"
ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")


def new_backup_id(now: datetime | None = None) -> str:
    """A sortable id from the UTC start time, e.g. 20250314T031700Z."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime(ID_FORMAT)


def is_backup_id(text: str) -> bool:
    """True for a string shaped like a backup id."""
    return bool(ID_PATTERN.match(text))


def started_at(backup_id: str) -> datetime:
    """The UTC start time encoded in a backup id."""
    return datetime.strptime(backup_id, ID_FORMAT).replace(tzinfo=UTC)


@dataclass
class DatabasePart:
    """The dump: stored bytes (compressed, maybe encrypted) and pg_dump's own output."""

    file: str
    compression: str
    stored_bytes: int
    stored_sha256: str
    dump_bytes: int
    dump_sha256: str
    database: str


@dataclass
class ObjectsPart:
    """The app bucket's index and what this backup added to the shared object store."""

    index: str
    index_sha256: str
    count: int
    bytes: int
    uploaded_count: int
    uploaded_bytes: int
    bucket: str


@dataclass
class Manifest:
    """Everything needed to check and restore one backup."""

    id: str
    env: str
    kind: str
    started_at: str
    finished_at: str
    duration_seconds: float
    database: DatabasePart
    objects: ObjectsPart
    encryption: dict[str, str] | None = None
    format: int = FORMAT
    tool: dict[str, str] = field(default_factory=dict)
    certs: dict[str, Any] | None = None
    """certs.tar (the VM's shared/certs: ACME account and certificates) when there was one."""

    def to_json(self) -> bytes:
        """Serialized, stable key order."""
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        """Parse a manifest; a CommandFailedError naming `where` if it is not one."""
        try:
            raw: dict[str, Any] = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ValueError(f"unknown format {raw.get('format')!r}")
            return cls(
                **{
                    **raw,
                    "database": DatabasePart(**raw["database"]),
                    "objects": ObjectsPart(**raw["objects"]),
                }
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise CommandFailedError(f"{where}: not a valid manifest ({exc})") from None
