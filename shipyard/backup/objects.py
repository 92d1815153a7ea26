"""The app bucket: copied into the content-addressed store, and restored from it.

Objects are stored once under objects/<sha256 of their content>; each backup's
objects.json maps key -> size, etag, sha256, content type. An object whose key, size and
etag equal the previous backup's entry (the same bucket, so etags are comparable) keeps its
sha256 without being read again; an object whose sha256 is already stored is not uploaded
again. Deletions in the app bucket are never mirrored: only retention removes objects.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from shipyard.backup.catalog import Catalog, index_entry
from shipyard.backup.multipart import UploadStoppedError
from shipyard.backup.store import MIN_PART, Bucket
from shipyard.backup.streams import HashingReader, read_exactly
from shipyard.errors import CommandFailedError

SMALL_OBJECT = 8 * 1024 * 1024
"""Objects up to this size are read once into memory; larger ones are read twice
(hash, then upload), so memory stays bounded by workers x this."""

Progress = Callable[[int, int], None]


@dataclass
class MirrorResult:
    """What a backup of the app bucket found and uploaded."""

    index: dict[str, dict[str, Any]]
    uploaded_count: int = 0
    uploaded_bytes: int = 0
    read_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        """Size of every object in the index."""
        return sum(entry["size"] for entry in self.index.values())


@dataclass
class _Counters:
    lock: Lock = field(default_factory=Lock)
    uploaded_count: int = 0
    uploaded_bytes: int = 0
    read_bytes: int = 0
    done: int = 0


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mirror_bucket(
    app: Bucket,
    catalog: Catalog,
    previous: dict[str, dict[str, Any]],
    *,
    workers: int,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> MirrorResult:
    """Copy every object of the app bucket that the store lacks; the new index.

    The first failure sets `stop` (and a set `stop` ends the copy): the objects not yet
    started are skipped, so a failing store ends the mirror within its I/O bound."""
    stop = stop or threading.Event()
    listing = [(key, size, etag) for key, size, etag in app.list("") if size >= 0]
    stored = catalog.object_hashes()
    stored_lock = Lock()
    counters = _Counters()

    def one(item: tuple[str, int, str]) -> tuple[str, dict[str, Any]]:
        if stop.is_set():
            raise UploadStoppedError("copying the app bucket stopped")
        try:
            return copy_one(item)
        except BaseException:
            stop.set()
            raise

    def copy_one(item: tuple[str, int, str]) -> tuple[str, dict[str, Any]]:
        key, size, etag = item
        known = previous.get(key)
        if known and known["size"] == size and known["etag"] == etag:
            entry = index_entry(size, etag, known["sha256"], known["content_type"])
            with stored_lock:
                present = entry["sha256"] in stored
            if not present:
                entry = _copy(app, catalog, key, size, etag, counters)
        else:
            entry = _copy(app, catalog, key, size, etag, counters, stored, stored_lock)
        with stored_lock:
            stored.add(entry["sha256"])
        with counters.lock:
            counters.done += 1
            if progress:
                progress(counters.done, len(listing))
        return key, entry

    with ThreadPoolExecutor(max_workers=workers) as pool:
        index = dict(pool.map(one, listing))
    return MirrorResult(
        index=index,
        uploaded_count=counters.uploaded_count,
        uploaded_bytes=counters.uploaded_bytes,
        read_bytes=counters.read_bytes,
    )


def _copy(
    app: Bucket,
    catalog: Catalog,
    key: str,
    size: int,
    etag: str,
    counters: _Counters,
    stored: set[str] | None = None,
    stored_lock: Lock | None = None,
) -> dict[str, Any]:
    """Hash one app object and upload it to objects/<sha256> unless it is there."""
    with app.open(key) as download:
        content_type = download.headers.get("Content-Type", "application/octet-stream")
        if size <= SMALL_OBJECT:
            data = read_exactly(download, size + 1)
            sha = _sha256(data)
        else:
            hashing = HashingReader(download)
            while hashing.read(1024 * 1024):
                pass
            data, sha = None, hashing.sha256
    with counters.lock:
        counters.read_bytes += size
    if stored is not None and stored_lock is not None:
        with stored_lock:
            if sha in stored:
                return index_entry(size, etag, sha, content_type)
    if data is not None:
        if len(data) != size:
            raise CommandFailedError(f"app bucket: {key} changed size while it was read")
        catalog.bucket.put_bytes(
            catalog.object_path(sha),
            read_exactly(catalog.sealed(io.BytesIO(data)), 1 << 62),
            metadata=catalog.write_metadata,
        )
    else:
        with app.open(key) as download:
            hashing = HashingReader(download)
            catalog.bucket.put_stream(
                catalog.object_path(sha),
                catalog.sealed(hashing),
                part_size=MIN_PART,
                parallel=1,
                metadata=catalog.write_metadata,
            )
        if hashing.sha256 != sha:
            catalog.bucket.remove([catalog.object_path(sha)])
            raise CommandFailedError(f"app bucket: {key} changed while it was backed up; retry")
    with counters.lock:
        counters.uploaded_count += 1
        counters.uploaded_bytes += size
    return index_entry(size, etag, sha, content_type)


@dataclass
class RestoreResult:
    """What restoring objects did."""

    written: int = 0
    written_bytes: int = 0
    unchanged: int = 0
    deleted: int = 0


def restore_objects(
    catalog: Catalog,
    index: dict[str, dict[str, Any]],
    app: Bucket,
    *,
    prefix: str = "",
    workers: int,
    delete_extra: bool = True,
    progress: Progress | None = None,
) -> RestoreResult:
    """Make the app bucket (under `prefix`) hold exactly the objects of `index`.

    Each object's sha256 is checked before it is written; objects whose key, size and etag
    already match are left alone; objects the backup does not have are deleted afterwards
    (only with an empty prefix and `delete_extra`).
    """
    current = {key: (size, etag) for key, size, etag in app.list(prefix) if size >= 0}
    result = RestoreResult()
    lock = Lock()
    done = [0]

    def one(item: tuple[str, dict[str, Any]]) -> None:
        key, entry = item
        target = prefix + key
        if not prefix and current.get(target) == (entry["size"], entry["etag"]):
            with lock:
                result.unchanged += 1
        else:
            _restore_one(catalog, app, target, entry)
            with lock:
                result.written += 1
                result.written_bytes += entry["size"]
        with lock:
            done[0] += 1
            if progress:
                progress(done[0], len(index))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, sorted(index.items())))
    if delete_extra and not prefix:
        extra = sorted(set(current) - set(index))
        app.remove(extra)
        result.deleted = len(extra)
    return result


def _restore_one(catalog: Catalog, app: Bucket, target: str, entry: dict[str, Any]) -> None:
    sha, size = entry["sha256"], entry["size"]
    source = catalog.object_path(sha)
    with catalog.reading(source) as reader:
        if size <= SMALL_OBJECT:
            data = read_exactly(reader, size + 1)
            if len(data) != size or _sha256(data) != sha:
                raise CommandFailedError(f"{source}: content does not match its sha256")
            app.put_bytes(target, data, content_type=entry["content_type"])
            return
        hashing = HashingReader(reader)
        app.put_stream(
            target,
            hashing,
            part_size=MIN_PART,
            length=size,
            parallel=1,
            content_type=entry["content_type"],
        )
    if hashing.sha256 != sha:
        app.remove([target])
        raise CommandFailedError(f"{source}: content does not match its sha256")


def check_objects(
    catalog: Catalog,
    entries: Iterable[dict[str, Any]],
    *,
    workers: int,
) -> list[str]:
    """Read back every distinct object of an index and hash it; the problems found."""
    hashes = sorted({entry["sha256"] for entry in entries})
    stored = catalog.object_hashes()

    def one(sha: str) -> str | None:
        if sha not in stored:
            return f"objects/{sha} is missing"
        with catalog.reading(catalog.object_path(sha)) as reader:
            hashing = HashingReader(reader)
            while hashing.read(1024 * 1024):
                pass
        if hashing.sha256 != sha:
            return f"objects/{sha} is corrupt (its content hashes to {hashing.sha256})"
        return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [problem for problem in pool.map(one, hashes) if problem]
