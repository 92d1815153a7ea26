"""The backups of one environment in the backup store: ids, state, manifests, indexes.

Encrypted data is decrypted here, so callers always see plaintext; manifests are not
encrypted (they hold sizes, hashes and the key's fingerprint, never content).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import zstandard

from shipyard.backup.crypto import ALGORITHM, DecryptingReader, EncryptingReader, Key
from shipyard.backup.manifest import (
    INDEX,
    MANIFEST,
    VERIFIED,
    Manifest,
    is_backup_id,
)
from shipyard.backup.store import Bucket
from shipyard.backup.streams import HashingReader, Readable, decompressing, read_exactly
from shipyard.backup.target import BackupTarget
from shipyard.errors import CommandFailedError, ConfigError

ENCRYPTION_META = "shipyard-encryption"
LATEST = "latest"


@dataclass(frozen=True)
class BackupState:
    """One backup id found in the store and which of its files exist."""

    id: str
    files: frozenset[str] = field(default_factory=frozenset)

    @property
    def complete(self) -> bool:
        """A manifest was written: every part was uploaded and hashed."""
        return MANIFEST in self.files

    @property
    def verified(self) -> bool:
        """`inv backup.verify` passed for it."""
        return VERIFIED in self.files


ObjectIndex = dict[str, dict[str, Any]]
"""objects.json of a backup: key -> {size, etag, sha256}."""


class Catalog:
    """Keys, listings and (de)serialisation for one environment's backups."""

    def __init__(self, bucket: Bucket, target: BackupTarget, key: Key | None) -> None:
        self.bucket = bucket
        self.target = target
        self.key = key

    # --- keys ---------------------------------------------------------------------------

    def path(self, backup_id: str, name: str = "") -> str:
        """The key of a file of a backup (or the backup's prefix, with a trailing slash)."""
        return f"{self.target.base}/{backup_id}/{name}"

    def object_path(self, sha256: str) -> str:
        """The key of a content-addressed object."""
        return f"{self.target.base}/objects/{sha256}"

    @property
    def encryption(self) -> dict[str, str] | None:
        """What a manifest records about encryption (the key's fingerprint, not the key)."""
        if self.key is None:
            return None
        return {"algorithm": ALGORITHM, "key_fingerprint": self.key.fingerprint}

    @property
    def write_metadata(self) -> dict[str, str] | None:
        """Metadata stored with every encrypted object."""
        return {ENCRYPTION_META: self.key.fingerprint} if self.key else None

    # --- listings -----------------------------------------------------------------------

    def backups(self) -> list[BackupState]:
        """Every backup id under the environment's prefix, oldest first, with its files."""
        states = []
        for prefix, size, _ in self.bucket.list(f"{self.target.base}/", recursive=False):
            name = prefix.rstrip("/").rsplit("/", 1)[-1]
            if size != -1 or not is_backup_id(name):
                continue
            files = {key.rsplit("/", 1)[-1] for key, _, _ in self.bucket.list(self.path(name))}
            states.append(BackupState(name, frozenset(files)))
        return sorted(states, key=lambda state: state.id)

    def object_hashes(self) -> set[str]:
        """The sha256 of every object in the content-addressed store."""
        prefix = f"{self.target.base}/objects/"
        return {key[len(prefix) :] for key, _, _ in self.bucket.list(prefix)}

    # --- manifests ----------------------------------------------------------------------

    def manifest(self, backup_id: str) -> Manifest:
        """The manifest of a complete backup."""
        key = self.path(backup_id, MANIFEST)
        if not self.bucket.exists(key):
            raise ConfigError(
                f"backup {backup_id} of {self.target.env} is not complete or does not exist",
                hint=f"`inv backup.list --env {self.target.env}` shows the backups",
            )
        return Manifest.from_json(self.bucket.get_bytes(key), key)

    def resolve(self, ref: str) -> Manifest:
        """A backup by id, or the newest complete one for `latest`."""
        if ref != LATEST:
            if not is_backup_id(ref):
                raise ConfigError(f"{ref!r} is not a backup id (like 20250314T031700Z) or `latest`")
            return self.manifest(ref)
        complete = [state for state in self.backups() if state.complete]
        if not complete:
            raise ConfigError(
                f"there is no complete backup of {self.target.env} in"
                f" {self.bucket.location.url}/{self.target.base}/",
                hint=f"take one with `inv backup --env {self.target.env}`",
            )
        return self.manifest(complete[-1].id)

    def require_key_for(self, manifest: Manifest) -> None:
        """Refuse, before anything changes, when the backup's key is not the configured one."""
        wanted = (manifest.encryption or {}).get("key_fingerprint")
        if wanted is None:
            return
        if self.key is None:
            raise ConfigError(
                f"backup {manifest.id} is encrypted (key fingerprint {wanted}) and no key is"
                " configured",
                hint="set BACKUP_ENCRYPTION_KEY_FILE in the env file to that key",
            )
        if self.key.fingerprint != wanted:
            raise ConfigError(
                f"backup {manifest.id} was encrypted with key {wanted}; the configured key is"
                f" {self.key.fingerprint}: wrong key",
                hint="set BACKUP_ENCRYPTION_KEY_FILE to the key the backup was made with",
            )

    def mark_verified(self, backup_id: str, report: dict[str, Any]) -> None:
        """Record a passed verification (retention keeps the newest verified backup)."""
        data = (json.dumps(report, indent=2, sort_keys=True) + "\n").encode()
        self.bucket.put_bytes(self.path(backup_id, VERIFIED), data, content_type="application/json")

    # --- data ---------------------------------------------------------------------------

    def sealed(self, source: Readable) -> Readable:
        """`source` encrypted when a key is configured, else unchanged."""
        return EncryptingReader(source, self.key) if self.key else source

    @contextmanager
    def reading(self, key: str, *, encrypted: bool | None = None) -> Iterator[Readable]:
        """The plaintext of a stored object. `encrypted` None: decided by its metadata."""
        with self.bucket.open(key) as download:
            if encrypted is None:
                encrypted = ENCRYPTION_META in download.metadata
            if not encrypted:
                yield download
                return
            if self.key is None:
                raise ConfigError(
                    f"{key} is encrypted and no key is configured",
                    hint="set BACKUP_ENCRYPTION_KEY_FILE in the env file",
                )
            yield DecryptingReader(download, self.key, what=key)

    def write_index(self, backup_id: str, index: dict[str, dict[str, Any]]) -> str:
        """Upload objects.json (encrypted when a key is set); the sha256 of its plaintext."""
        data = (json.dumps(index, indent=1, sort_keys=True) + "\n").encode()
        hashing = HashingReader(io.BytesIO(data))
        sealed = read_exactly(self.sealed(hashing), 1 << 62)
        self.bucket.put_bytes(
            self.path(backup_id, INDEX),
            sealed,
            metadata=self.write_metadata,
            content_type="application/json",
        )
        return hashing.sha256

    def read_index(self, manifest: Manifest) -> ObjectIndex:
        """objects.json of a backup, checked against the manifest's hash."""
        key = self.path(manifest.id, manifest.objects.index)
        with self.reading(key, encrypted=manifest.encryption is not None) as reader:
            hashing = HashingReader(reader)
            data = read_exactly(hashing, 1 << 62)
        if hashing.sha256 != manifest.objects.index_sha256:
            raise CommandFailedError(
                f"{key}: sha256 {hashing.sha256[:16]}… differs from the manifest's"
                f" {manifest.objects.index_sha256[:16]}…: the index is corrupt"
            )
        index: ObjectIndex = json.loads(data)
        return index

    def write_manifest(self, manifest: Manifest) -> None:
        """Upload manifest.json: the last write of a backup, which makes it complete."""
        self.bucket.put_bytes(
            self.path(manifest.id, MANIFEST), manifest.to_json(), content_type="application/json"
        )


def index_entry(size: int, etag: str, sha256: str, content_type: str) -> dict[str, Any]:
    """One line of objects.json."""
    return {"size": size, "etag": etag, "sha256": sha256, "content_type": content_type}


class DumpStream:
    """A backup's dump as pg_dump wrote it, with running hashes of both forms."""

    def __init__(self, stored: HashingReader, raw: HashingReader, manifest: Manifest) -> None:
        self.stored = stored
        self.raw = raw
        self.manifest = manifest

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes of pg_dump's output."""
        try:
            return self.raw.read(size)
        except zstandard.ZstdError as exc:
            raise CommandFailedError(
                f"backup {self.manifest.id}: the dump cannot be decompressed ({exc}): corrupt"
            ) from None

    def problems(self) -> list[str]:
        """Read what is left, then compare sizes and hashes with the manifest."""
        while self.read(1024 * 1024):
            pass
        part, found = self.manifest.database, []
        if (self.stored.bytes, self.stored.sha256) != (part.stored_bytes, part.stored_sha256):
            found.append(
                f"{part.file}: stored bytes hash to {self.stored.sha256[:16]}… ({self.stored.bytes}"
                f" bytes), the manifest says {part.stored_sha256[:16]}… ({part.stored_bytes})"
            )
        elif (self.raw.bytes, self.raw.sha256) != (part.dump_bytes, part.dump_sha256):
            found.append(f"{part.file}: the decompressed dump differs from the manifest's hash")
        return found


@contextmanager
def open_dump(catalog: Catalog, manifest: Manifest) -> Iterator[DumpStream]:
    """Stream a backup's dump: download, hash, decrypt, decompress, hash."""
    key = catalog.path(manifest.id, manifest.database.file)
    with catalog.bucket.open(key) as download:
        stored = HashingReader(download)
        plain: Readable = stored
        if manifest.encryption is not None:
            if catalog.key is None:
                raise ConfigError(f"{key} is encrypted and no key is configured")
            plain = DecryptingReader(stored, catalog.key, what=key)
        yield DumpStream(stored, HashingReader(decompressing(plain)), manifest)
