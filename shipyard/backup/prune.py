"""`inv backup.prune`: apply the retention plan, then delete objects no backup references,
and abort multipart uploads left unfinished (a run that lost its store) once they are
older than `incomplete_after_hours`, for stores without a lifecycle rule that does it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shipyard.backup.context import BackupContext
from shipyard.backup.lock import held
from shipyard.backup.retention import Candidate, Decision, plan_retention
from shipyard.errors import RefusedError, ShipyardError


@dataclass
class PruneReport:
    """What retention decided and what was deleted."""

    decisions: list[Decision]
    dry_run: bool
    deleted_backups: list[str] = field(default_factory=list)
    unreferenced_objects: int = 0
    aborted_uploads: int = 0
    """Unfinished multipart uploads older than incomplete_after_hours (aborted unless dry)."""
    warnings: list[str] = field(default_factory=list)

    @property
    def to_delete(self) -> list[Decision]:
        """Decisions to delete."""
        return [decision for decision in self.decisions if not decision.keep]


def apply_retention(
    ctx: BackupContext, *, dry_run: bool, warn: Callable[[str], None]
) -> PruneReport:
    """`inv backup.prune`: `prune` under the backup lock of the stack's host, so that no
    backup of the same stack writes while its objects are judged unreferenced."""
    with held(ctx.site.runner, ctx.lock_path, "prune", warn):
        return prune(ctx, dry_run=dry_run)


def prune(ctx: BackupContext, *, dry_run: bool, now: datetime | None = None) -> PruneReport:
    """Delete what the plan lets go (nothing with dry_run) and the objects only they used."""
    catalog = ctx.catalog
    states = catalog.backups()
    candidates = [Candidate(s.id, s.complete, s.verified) for s in states]
    decisions = plan_retention(
        candidates,
        ctx.settings.retention,
        now=now or datetime.now(UTC),
        incomplete_after=timedelta(hours=ctx.settings.incomplete_after_hours),
    )
    report = PruneReport(decisions, dry_run)
    complete = {s.id for s in states if s.complete}
    going = {d.id for d in report.to_delete}
    if complete and complete <= going:  # the plan keeps one by construction; never trust it
        raise RefusedError("retention would delete every backup; nothing was deleted")
    kept_complete = sorted(complete - going)
    referenced = _referenced_objects(ctx, kept_complete, report.warnings)
    stored = catalog.object_hashes()
    unreferenced = sorted(stored - referenced) if referenced is not None else []
    report.unreferenced_objects = len(unreferenced)
    stale = _stale_uploads(ctx, now or datetime.now(UTC), report.warnings)
    report.aborted_uploads = len(stale)
    if dry_run:
        return report
    for decision in report.to_delete:
        keys = [key for key, _, _ in catalog.bucket.list(catalog.path(decision.id))]
        # the manifest first: a half-deleted backup must read as incomplete, never complete
        keys.sort(key=lambda key: not key.endswith("/manifest.json"))
        catalog.bucket.remove(keys)
        report.deleted_backups.append(decision.id)
    catalog.bucket.remove([catalog.object_path(sha) for sha in unreferenced])
    for key, upload_id in stale:
        catalog.bucket.abort_upload(key, upload_id)
    return report


def _stale_uploads(ctx: BackupContext, now: datetime, warnings: list[str]) -> list[tuple[str, str]]:
    """Unfinished multipart uploads of this environment older than incomplete_after_hours;
    none (with a warning) when the store cannot list them."""
    cutoff = now - timedelta(hours=ctx.settings.incomplete_after_hours)
    try:
        uploads = ctx.catalog.bucket.open_uploads(ctx.catalog.target.base + "/")
    except ShipyardError as exc:
        warnings.append(f"unfinished multipart uploads not checked ({exc.one_line()})")
        return []
    return [(key, upload_id) for key, upload_id, began in uploads if began and began < cutoff]


def _referenced_objects(
    ctx: BackupContext, backup_ids: list[str], warnings: list[str]
) -> set[str] | None:
    """Hashes the kept backups reference; None (delete no object) if an index is unreadable."""
    referenced: set[str] = set()
    for backup_id in backup_ids:
        try:
            index = ctx.catalog.read_index(ctx.catalog.manifest(backup_id))
        except ShipyardError as exc:
            warnings.append(
                f"no object was deleted: the index of {backup_id} is unreadable ({exc.one_line()})"
            )
            return None
        referenced |= {entry["sha256"] for entry in index.values()}
    return referenced
