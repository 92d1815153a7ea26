"""`inv restore`: bring a backup back into the running stack, exactly.

The dump is restored into a new database first; only when pg_restore succeeded and the
dump's hashes matched the manifest are the databases swapped (the live one is never
touched by a failed restore). Then the app bucket is made equal to the backup's index.
`restore` adds what an operator needs around that: the plan, confirmation, a safety
backup, stopping and starting the app, smoke checks and the time it took.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shipyard.backup.catalog import Catalog, open_dump
from shipyard.backup.context import BackupContext, Site
from shipyard.backup.create import take_backup
from shipyard.backup.dump import chunks_of
from shipyard.backup.interrupt import critical
from shipyard.backup.lock import held
from shipyard.backup.manifest import Manifest
from shipyard.backup.objects import RestoreResult, restore_objects
from shipyard.checks.smoke import CheckResult, run_smoke_suite
from shipyard.errors import CommandFailedError
from shipyard.stack import parse_ps

Say = Callable[[str], None]
APP_SERVICE = "app"
HEALTH_TIMEOUT = 180


@dataclass
class RestorePlan:
    """What a restore will replace, shown before anything changes."""

    manifest: Manifest
    index: dict[str, dict[str, Any]]
    database_exists: bool
    current_tables: dict[str, int]
    current_objects: int
    current_object_bytes: int

    def lines(self) -> list[str]:
        """The plan as readable lines."""
        m = self.manifest
        rows = sum(self.current_tables.values())
        now = (
            f"{len(self.current_tables)} tables, {rows} rows"
            if self.database_exists
            else "does not exist"
        )
        return [
            f"backup {m.id} ({m.kind}, taken {m.started_at}, {m.database.dump_bytes / 1e6:.1f} MB"
            f" dump, {m.objects.count} objects)",
            f"replaces database {m.database.database}: now {now}",
            f"replaces bucket {m.objects.bucket}: now {self.current_objects} objects"
            f" ({self.current_object_bytes / 1e6:.1f} MB); afterwards {m.objects.count}"
            f" ({m.objects.bytes / 1e6:.1f} MB), objects not in the backup are deleted",
        ]


@dataclass
class RestoreReport:
    """A finished restore."""

    manifest: Manifest
    safety_backup: str | None = None
    objects: RestoreResult | None = None
    smoke: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    database_seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)


def plan_restore(ctx: BackupContext, ref: str) -> RestorePlan:
    """Resolve the backup, check the key, and look at what is there now. Changes nothing."""
    manifest = ctx.catalog.resolve(ref)
    ctx.catalog.require_key_for(manifest)
    index = ctx.catalog.read_index(manifest)
    db = ctx.site.db
    exists = db.exists(db.name)
    listing = [size for _, size, _ in ctx.site.app.list("") if size >= 0]
    return RestorePlan(
        manifest=manifest,
        index=index,
        database_exists=exists,
        current_tables=db.table_stats() if exists else {},
        current_objects=len(listing),
        current_object_bytes=sum(listing),
    )


def restore_database(site: Site, catalog: Catalog, manifest: Manifest, step: Say) -> None:
    """Restore the dump into a new database, check its hashes, then swap it in."""
    db = site.db
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    incoming = f"{db.name}_restoring_{stamp}"[:63]
    previous = f"{db.name}_replaced_{stamp}"[:63]
    db.drop(incoming)
    db.create(incoming)
    try:
        step(f"pg_restore of backup {manifest.id} into {incoming}")
        with open_dump(catalog, manifest) as dump:
            db.restore(chunks_of(dump), incoming)
            problems = dump.problems()
        if problems:
            raise CommandFailedError("; ".join(problems), hint="the live database is unchanged")
    except BaseException:
        db.drop(incoming)
        raise
    step(f"switching {db.name} to the restored database")
    with critical():
        if db.exists(db.name):
            db.rename(db.name, previous)
            db.rename(incoming, db.name)
            db.drop(previous)
        else:
            db.rename(incoming, db.name)


def restore_into(
    site: Site,
    catalog: Catalog,
    manifest: Manifest,
    index: dict[str, dict[str, Any]],
    *,
    workers: int,
    step: Say,
) -> RestoreResult:
    """Database and objects of a backup into a stack whose app is stopped."""
    restore_database(site, catalog, manifest, step)
    step(f"objects: {len(index)} into bucket {site.app.location.bucket}")
    site.app.check(create=True)
    return restore_objects(catalog, index, site.app, workers=workers)


def wait_healthy(site: Site, service: str, timeout: float = HEALTH_TIMEOUT) -> None:
    """Poll `docker compose ps` until the service is running and healthy."""
    deadline = time.monotonic() + timeout
    state = "missing"
    while time.monotonic() < deadline:
        result = site.runner.run(site.project.ps(), env=site.variables)
        rows = {row.service: row for row in parse_ps(result.stdout)} if result.ok else {}
        if service in rows and rows[service].healthy:
            return
        state = f"{rows[service].state} {rows[service].health}" if service in rows else "missing"
        time.sleep(1)
    raise CommandFailedError(
        f"{service} is not healthy {timeout:.0f} s after the restore (it is {state})",
        hint=f"see `inv logs --service {service}`",
    )


def restore(
    ctx: BackupContext,
    plan: RestorePlan,
    *,
    step: Say,
    warn: Say,
    safety_backup: bool = True,
) -> RestoreReport:
    """Lock, safety backup, stop the app, restore, start it, smoke-check."""
    started = time.monotonic()
    site = ctx.site
    report = RestoreReport(plan.manifest)
    with held(site.runner, ctx.lock_path, "restore", warn):
        if not safety_backup:
            warn("no safety backup (--no-safety-backup): the current data is not saved")
        elif not plan.database_exists:
            warn(f"database {site.db.name} does not exist: nothing to save in a safety backup")
        else:
            step("safety backup of the current data")
            report.safety_backup = take_backup(ctx, kind="safety", step=step, warn=warn).id
        step("stopping the app")
        site.compose(site.project.stop([APP_SERVICE]), "stopping the app")
        try:
            db_started = time.monotonic()
            report.objects = restore_into(
                site,
                ctx.catalog,
                plan.manifest,
                plan.index,
                workers=ctx.settings.object_workers,
                step=step,
            )
            report.database_seconds = time.monotonic() - db_started
            report.tables = site.db.table_stats()
        finally:
            step("starting the app")
            with critical():
                site.compose(site.project.start([APP_SERVICE]), "starting the app")
        wait_healthy(site, APP_SERVICE)
    step(f"smoke checks through {site.env.public_url}")
    report.smoke = run_smoke_suite(site.env.public_url, burst=False).checks
    report.seconds = time.monotonic() - started
    failed = [check for check in report.smoke if not check.ok]
    if failed:
        detail = "; ".join(f"{check.name}: {check.detail}" for check in failed)
        raise CommandFailedError(f"restored, but the smoke checks failed: {detail}")
    return report
