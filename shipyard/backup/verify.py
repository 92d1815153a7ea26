"""`inv backup.verify`: read a backup back and prove it restores.

Always: the dump's stored and decompressed sha256 against the manifest, `pg_restore
--list` over the stream, objects.json's hash, and every referenced object read back and
hashed. With `restore`: the dump restored into a scratch database and the objects into a
scratch prefix of the app bucket (hash-checked on the way), row counts reported, and both
removed afterwards whatever happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shipyard.backup.catalog import ObjectIndex, open_dump
from shipyard.backup.context import BackupContext
from shipyard.backup.dump import chunks_of
from shipyard.backup.manifest import Manifest
from shipyard.backup.objects import check_objects, restore_objects
from shipyard.errors import CommandFailedError, ShipyardError

Say = Callable[[str], None]
SCRATCH_PREFIX = "shipyard-verify-"


@dataclass
class VerifyReport:
    """What a verification checked and found."""

    manifest: Manifest
    restored: bool
    toc_entries: int = 0
    objects_checked: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def _check_dump(ctx: BackupContext, report: VerifyReport) -> None:
    with open_dump(ctx.catalog, report.manifest) as dump:
        try:
            report.toc_entries = len(ctx.site.db.list_contents(chunks_of(dump)))
        except ShipyardError as exc:
            report.problems.append(f"postgres.dump: {exc.one_line()}")
        try:
            report.problems += dump.problems()
        except ShipyardError as exc:
            report.problems.append(exc.one_line())


def _scratch_restore(
    ctx: BackupContext, report: VerifyReport, index: ObjectIndex, step: Say
) -> None:
    db, manifest = ctx.site.db, report.manifest
    stamp = datetime.now(UTC).strftime("%H%M%S")
    scratch_db = f"{db.name}_verify_{manifest.id.lower()}_{stamp}"[:63]
    prefix = f"{SCRATCH_PREFIX}{manifest.id}-{stamp}/"
    try:
        step(f"restoring into scratch database {scratch_db}")
        db.create(scratch_db)
        with open_dump(ctx.catalog, manifest) as dump:
            db.restore(chunks_of(dump), scratch_db)
            report.problems += dump.problems()
        report.tables = db.table_stats(scratch_db)
        step(f"restoring {len(index)} objects under {ctx.site.app.location.bucket}/{prefix}")
        restore_objects(
            ctx.catalog, index, ctx.site.app, prefix=prefix, workers=ctx.settings.object_workers
        )
        restored = {key for key, size, _ in ctx.site.app.list(prefix) if size >= 0}
        if len(restored) != len(index):
            report.problems.append(f"{len(restored)} of {len(index)} objects were restored")
    except ShipyardError as exc:
        report.problems.append(f"scratch restore: {exc.one_line()}")
    finally:
        step("removing the scratch database and objects")
        db.drop(scratch_db)
        ctx.site.app.remove([key for key, size, _ in ctx.site.app.list(prefix) if size >= 0])


def verify(ctx: BackupContext, ref: str, *, restore: bool, step: Say) -> VerifyReport:
    """Verify one backup; raises CommandFailedError listing the problems when any is found."""
    started = time.monotonic()
    manifest = ctx.catalog.resolve(ref)
    ctx.catalog.require_key_for(manifest)
    report = VerifyReport(manifest, restored=restore)
    step(f"backup {manifest.id}: hashing the dump and reading its table of contents")
    _check_dump(ctx, report)
    index: ObjectIndex = {}
    try:
        index = ctx.catalog.read_index(manifest)
    except ShipyardError as exc:
        report.problems.append(exc.one_line())
    step(f"reading back {len({e['sha256'] for e in index.values()})} objects")
    report.problems += check_objects(
        ctx.catalog, index.values(), workers=ctx.settings.object_workers
    )
    report.objects_checked = len(index)
    if restore and report.ok:
        _scratch_restore(ctx, report, index, step)
    report.seconds = time.monotonic() - started
    if not report.ok:
        raise CommandFailedError(
            f"backup {manifest.id} failed verification: "
            + "; ".join(report.problems[:5])
            + (f" (+{len(report.problems) - 5} more)" if len(report.problems) > 5 else "")
        )
    ctx.catalog.mark_verified(
        manifest.id,
        {
            "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "restored": restore,
            "tables": report.tables,
            "objects": report.objects_checked,
        },
    )
    return report
