"""`inv backup`: dump the database and copy the app bucket to the backup store.

pg_dump (custom format, inside the db container) streams through a sha256, zstd, optional
encryption and another sha256 into a multipart upload: no copy on disk, bounded memory,
and a failing pg_dump aborts the upload. The objects follow, then objects.json, then
manifest.json; only then is the backup complete, the metrics file written and retention
applied.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import zstandard

from shipyard import __version__
from shipyard.backup.catalog import ObjectIndex
from shipyard.backup.context import BackupContext
from shipyard.backup.lock import held
from shipyard.backup.manifest import (
    DUMP,
    INDEX,
    DatabasePart,
    Manifest,
    ObjectsPart,
    new_backup_id,
)
from shipyard.backup.metrics import failure_textfile, textfile, write_textfile
from shipyard.backup.multipart import UploadStoppedError
from shipyard.backup.objects import mirror_bucket
from shipyard.backup.prune import PruneReport, prune
from shipyard.backup.store import part_size_for
from shipyard.backup.streams import HashingReader, compressing
from shipyard.backup.target import IN_STACK_BACKUP_ENVS
from shipyard.edge.backup import CERTS_TAR, save_certificates
from shipyard.errors import CommandFailedError, ShipyardError

Say = Callable[[str], None]
DUMP_PARALLEL_PARTS = 2


@dataclass
class BackupReport:
    """A finished backup."""

    manifest: Manifest
    metrics_file: str | None = None
    pruned: PruneReport | None = None
    warnings: list[str] = field(default_factory=list)


def _unused_id(ctx: BackupContext) -> str:
    while True:
        backup_id = new_backup_id()
        if not any(True for _ in ctx.catalog.bucket.list(ctx.catalog.path(backup_id))):
            return backup_id
        time.sleep(1)


def _previous_index(ctx: BackupContext, warn: Say) -> ObjectIndex:
    complete = [state for state in ctx.catalog.backups() if state.complete]
    if not complete:
        return {}
    try:
        manifest = ctx.catalog.manifest(complete[-1].id)
        return ctx.catalog.read_index(manifest)
    except ShipyardError as exc:
        warn(f"previous index unusable ({exc.one_line()}); every object is read again")
        return {}


def _dump(
    ctx: BackupContext, backup_id: str, step: Say, stop: threading.Event | None = None
) -> DatabasePart:
    """Stream pg_dump through sha256, zstd, optional encryption and sha256 into the store."""
    site, catalog = ctx.site, ctx.catalog
    expected = site.db.size()
    part_size = part_size_for(expected)
    step(
        f"backup {backup_id}: pg_dump of {site.db.name} ({expected / 1e6:.0f} MB on disk)"
        f" streamed to {catalog.bucket.location.url}/{catalog.path(backup_id, DUMP)}"
    )
    with site.db.dump() as output:
        raw = HashingReader(output)
        packed = compressing(
            raw,
            level=ctx.settings.compression_level,
            threads=ctx.settings.compression_threads,
        )
        stored = HashingReader(catalog.sealed(packed))
        try:
            catalog.bucket.put_stream(
                catalog.path(backup_id, DUMP),
                stored,
                part_size=part_size,
                parallel=DUMP_PARALLEL_PARTS,
                metadata=catalog.write_metadata,
                stop=stop,
            )
        except zstandard.ZstdError as exc:
            raise CommandFailedError(f"compressing the dump failed: {exc}") from None
    step(f"dump: {raw.bytes / 1e6:.1f} MB from pg_dump, {stored.bytes / 1e6:.1f} MB stored")
    return DatabasePart(
        file=DUMP,
        compression="zstd",
        stored_bytes=stored.bytes,
        stored_sha256=stored.sha256,
        dump_bytes=raw.bytes,
        dump_sha256=raw.sha256,
        database=site.db.name,
    )


def take_backup(ctx: BackupContext, *, kind: str, step: Say, warn: Say) -> Manifest:
    """One backup, without the lock (callers hold it); its manifest once complete."""
    site, catalog = ctx.site, ctx.catalog
    started = time.monotonic()
    started_at = datetime.now(UTC)
    catalog.bucket.check(create=ctx.env.name in IN_STACK_BACKUP_ENVS)
    site.app.check()
    backup_id = _unused_id(ctx)

    previous = _previous_index(ctx, warn)
    bucket_name = site.app.location.bucket
    step(f"objects of bucket {bucket_name} into the content-addressed store, alongside the dump")
    # The first of the two to fail stops the other, so the run ends within the I/O bound.
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as background:
        objects = background.submit(
            mirror_bucket,
            site.app,
            catalog,
            previous,
            workers=ctx.settings.object_workers,
            stop=stop,
        )
        try:
            database = _dump(ctx, backup_id, step, stop)
        except UploadStoppedError:
            objects.result()  # the copy of the objects failed first: its error is the cause
            raise
        except BaseException:
            stop.set()
            raise
        mirrored = objects.result()
    index_sha = catalog.write_index(backup_id, mirrored.index)
    step(
        f"objects: {len(mirrored.index)} ({mirrored.total_bytes / 1e6:.1f} MB),"
        f" {mirrored.uploaded_count} uploaded ({mirrored.uploaded_bytes / 1e6:.1f} MB)"
    )
    certs = save_certificates(catalog, backup_id, ctx.env, site.runner)
    if certs:
        step(f"certificates: {CERTS_TAR} ({certs['bytes'] / 1e3:.1f} kB of shared/certs)")
    manifest = Manifest(
        id=backup_id,
        env=ctx.env.name,
        kind=kind,
        started_at=started_at.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_seconds=round(time.monotonic() - started, 3),
        database=database,
        objects=ObjectsPart(
            index=INDEX,
            index_sha256=index_sha,
            count=len(mirrored.index),
            bytes=mirrored.total_bytes,
            uploaded_count=mirrored.uploaded_count,
            uploaded_bytes=mirrored.uploaded_bytes,
            bucket=site.app.location.bucket,
        ),
        encryption=catalog.encryption,
        tool={"shipyard": __version__, "compression_level": str(ctx.settings.compression_level)},
        certs=certs,
    )
    catalog.write_manifest(manifest)
    return manifest


def run_backup(
    ctx: BackupContext, *, kind: str = "scheduled", step: Say, warn: Say, apply_retention: bool
) -> BackupReport:
    """`inv backup`: lock, back up, write the metrics file, then apply retention."""
    with held(ctx.site.runner, ctx.lock_path, "backup", warn):
        try:
            manifest = take_backup(ctx, kind=kind, step=step, warn=warn)
        except Exception:
            _record_failure(ctx, warn)
            raise
        report = BackupReport(manifest)
        sizes = {
            "database_stored": manifest.database.stored_bytes,
            "database_dump": manifest.database.dump_bytes,
            "objects_total": manifest.objects.bytes,
            "objects_uploaded": manifest.objects.uploaded_bytes,
        }
        report.metrics_file = write_textfile(
            ctx.site.runner,
            ctx.host_path(ctx.settings.metrics_dir),
            f"shipyard_backup_{ctx.env.project}_{ctx.env.name}.prom",
            textfile(
                ctx.env.name,
                finished=time.time(),
                duration=manifest.duration_seconds,
                sizes=sizes,
            ),
        )
        if apply_retention:
            step("retention")
            report.pruned = prune(ctx, dry_run=False)
    return report


def _record_failure(ctx: BackupContext, warn: Say) -> None:
    """Write the failure metric beside the success one; a failure to write it only warns
    (the backup's own error is the one to report)."""
    try:
        write_textfile(
            ctx.site.runner,
            ctx.host_path(ctx.settings.metrics_dir),
            f"shipyard_backup_failure_{ctx.env.project}_{ctx.env.name}.prom",
            failure_textfile(ctx.env.name, failed=time.time()),
        )
    except ShipyardError as exc:  # never hide the backup's own error
        warn(f"could not write the backup failure metric: {exc}")


def backup_plan(ctx: BackupContext) -> list[str]:
    """What `inv backup` would do, read-only (for --dry-run): source, target, sizes."""
    site, catalog = ctx.site, ctx.catalog
    if ctx.env.name not in IN_STACK_BACKUP_ENVS:
        catalog.bucket.check()
    site.app.check()
    objects = [size for _, size, _ in site.app.list("") if size >= 0]
    size = site.db.size()
    return [
        f"database {site.db.name}: {size / 1e6:.1f} MB on disk, pg_dump inside the db container,"
        f" zstd level {ctx.settings.compression_level}, parts of"
        f" {part_size_for(size) // (1024 * 1024)} MiB",
        f"bucket {site.app.location.bucket}: {len(objects)} objects ({sum(objects) / 1e6:.1f} MB)",
        f"to {catalog.bucket.location.url}/{catalog.target.base}/"
        + (" (encrypted)" if catalog.key else ""),
        f"lock {ctx.lock_path}; metrics in {ctx.host_path(ctx.settings.metrics_dir)}",
    ]
