"""Backups: `inv backup` (and backup.list, .verify, .prune, .schedule), `inv restore`,
`inv dr.drill`. Thin: parse, call shipyard.backup, print."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context, task

from shipyard import console

if TYPE_CHECKING:
    from shipyard.backup.context import BackupContext
    from shipyard.backup.prune import PruneReport

LOCAL = "local"
ON_HOST_HELP = "run on the stack's host itself (cron on the VM does); implied for local"


def _context(c: Context, env: str, on_host: bool) -> BackupContext:
    from shipyard.backup.context import open_backup
    from shipyard.config import load_config

    return open_backup(load_config(c.config), env, on_host=on_host)


def _prune_lines(report: PruneReport) -> None:
    for decision in report.decisions:
        verb = "keep  " if decision.keep else ("would delete" if report.dry_run else "delete")
        console.say(f"{verb:<12} {decision.id}  {'; '.join(decision.reasons)}")
    noun = "would be deleted" if report.dry_run else "deleted"
    console.say(f"unreferenced objects {noun}: {report.unreferenced_objects}")
    verb = "would be aborted" if report.dry_run else "aborted"
    console.say(f"unfinished multipart uploads {verb}: {report.aborted_uploads}")
    for line in report.warnings:
        console.warn(line)


def _prune_json(report: PruneReport) -> dict[str, object]:
    return {
        "dry_run": report.dry_run,
        "decisions": [
            {"id": d.id, "keep": d.keep, "reasons": list(d.reasons)} for d in report.decisions
        ],
        "deleted": report.deleted_backups,
        "unreferenced_objects": report.unreferenced_objects,
        "aborted_uploads": report.aborted_uploads,
        "warnings": report.warnings,
    }


@task(
    name="create",
    default=True,
    help={
        "env": "environment to back up (default: local)",
        "json": "print one JSON document (for cron)",
        "on_host": ON_HOST_HELP,
        "prune": "apply retention after a successful backup (default: on)",
        "dry_run": "show what would be backed up and where; change nothing",
    },
)
@console.exits_cleanly
def create(c, env=LOCAL, json=False, on_host=False, prune=True, dry_run=False):
    """Back up the database and the app bucket to the backup store, then apply retention."""
    from dataclasses import asdict

    from shipyard.backup.create import backup_plan, run_backup
    from shipyard.errors import ShipyardError

    try:
        with _context(c, env, on_host) as ctx:
            if dry_run:
                for line in backup_plan(ctx):
                    console.say(line)
                console.result("dry run: nothing was changed")
                return
            report = run_backup(
                ctx, kind="scheduled", step=console.step, warn=console.warn, apply_retention=prune
            )
    except ShipyardError as exc:
        if json:
            console.emit_json({"ok": False, "env": env, "error": exc.one_line()})
        raise
    manifest = report.manifest
    if json:
        console.emit_json(
            {
                "ok": True,
                "backup": asdict(manifest),
                "metrics_file": report.metrics_file,
                "retention": _prune_json(report.pruned) if report.pruned else None,
            }
        )
        return
    if report.pruned:
        _prune_lines(report.pruned)
    console.result(
        f"backup {manifest.id} of {env} in {manifest.duration_seconds:.1f} s:"
        f" dump {manifest.database.stored_bytes / 1e6:.1f} MB stored,"
        f" {manifest.objects.count} objects ({manifest.objects.uploaded_count} uploaded)"
    )


@task(
    name="list",
    help={"env": "environment (default: local)", "json": "print JSON", "on_host": ON_HOST_HELP},
)
@console.exits_cleanly
def list_(c, env=LOCAL, json=False, on_host=False):
    """List the complete backups (incomplete ones are named apart)."""
    from shipyard.backup.pitr import stanza_info

    with _context(c, env, on_host) as ctx:
        states = ctx.catalog.backups()
        manifests = [ctx.catalog.manifest(s.id) for s in states if s.complete]
        bases = stanza_info(ctx).backups if ctx.env.archives_wal else ()
    verified = {s.id for s in states if s.verified}
    incomplete = [s.id for s in states if not s.complete]
    if json:
        console.emit_json(
            {
                "base_backups": [
                    {
                        "label": b.label,
                        "type": b.type,
                        "started_at": b.started.isoformat(),
                        "stopped_at": b.stopped.isoformat(),
                        "wal": [b.wal_start, b.wal_stop],
                        "size": b.size,
                        "stored": b.repo_size,
                    }
                    for b in bases
                ],
                "backups": [
                    {
                        "id": m.id,
                        "kind": m.kind,
                        "started_at": m.started_at,
                        "duration_seconds": m.duration_seconds,
                        "dump_bytes": m.database.dump_bytes,
                        "stored_bytes": m.database.stored_bytes,
                        "objects": m.objects.count,
                        "object_bytes": m.objects.bytes,
                        "encrypted": m.encryption is not None,
                        "verified": m.id in verified,
                    }
                    for m in manifests
                ],
                "incomplete": incomplete,
            }
        )
        return
    if not manifests:
        console.say(f"no complete backup of {env}; take one with `inv backup --env {env}`")
    for m in manifests:
        flags = ", ".join(
            flag
            for flag, on in (
                (m.kind, True),
                ("verified", m.id in verified),
                ("encrypted", m.encryption is not None),
            )
            if on
        )
        console.say(
            f"{m.id}  dump {m.database.stored_bytes / 1e6:8.1f} MB  objects {m.objects.count:6d}"
            f" ({m.objects.bytes / 1e6:.1f} MB)  {m.duration_seconds:6.1f} s  {flags}"
        )
    if incomplete:
        console.warn(
            f"incomplete (no manifest, not restorable; pruned after a day): {', '.join(incomplete)}"
        )
    for b in bases:
        console.say(
            f"{b.label}  pgBackRest {b.type:<4}  {b.size / 1e6:8.1f} MB ({b.repo_size / 1e6:.1f} MB"
            f" stored)  WAL {b.wal_start}..{b.wal_stop}  {b.stopped.isoformat(timespec='seconds')}"
        )


@task(
    help={
        "backup": "backup id, or latest (default)",
        "restore": "also restore into a scratch database and object prefix (removed afterwards)",
        "env": "environment (default: local)",
        "json": "print JSON",
        "on_host": ON_HOST_HELP,
    },
)
@console.exits_cleanly
def verify(c, backup="latest", restore=False, env=LOCAL, json=False, on_host=False):
    """Check a backup's hashes and dump, and with --restore restore it into scratch space."""
    from shipyard.backup.pitr import verify_repository
    from shipyard.backup.verify import verify as run_verify

    with _context(c, env, on_host) as ctx:
        report = run_verify(ctx, backup, restore=restore, step=console.step)
        checked = (
            verify_repository(ctx, console.step, console.warn) if ctx.env.archives_wal else None
        )
        bases = None if checked is None else checked.backups
    if json:
        console.emit_json(
            {
                "ok": True,
                "id": report.manifest.id,
                "restored": report.restored,
                "toc_entries": report.toc_entries,
                "objects": report.objects_checked,
                "tables": report.tables,
                "seconds": round(report.seconds, 3),
                "pitr_base_backups": None if bases is None else len(bases),
            }
        )
        return
    if bases is not None:
        console.result(f"pgBackRest repository verified: {len(bases)} base backup(s) and their WAL")
    for table, rows in report.tables.items():
        console.say(f"  {table:<40} {rows:>12} rows")
    how = "restored into scratch space" if restore else "hashes and table of contents"
    console.result(
        f"backup {report.manifest.id} verified ({how}): {report.toc_entries} dump entries,"
        f" {report.objects_checked} objects, {report.seconds:.1f} s"
    )


@task(
    help={
        "env": "environment (default: local)",
        "dry_run": "list what would go and why; delete nothing",
        "json": "print JSON",
        "on_host": ON_HOST_HELP,
    }
)
@console.exits_cleanly
def prune(c, env=LOCAL, dry_run=False, json=False, on_host=False):
    """Apply retention (grandfather-father-son): list what goes and why, then delete it."""
    from shipyard.backup.prune import apply_retention

    with _context(c, env, on_host) as ctx:
        report = apply_retention(ctx, dry_run=dry_run, warn=console.warn)
    if json:
        console.emit_json(_prune_json(report))
        return
    _prune_lines(report)
    gone = len(report.to_delete)
    console.result(f"{gone} backup(s) {'would be ' if dry_run else ''}deleted")


@task(
    help={
        "env": "environment (default: local)",
        "on_host": ON_HOST_HELP,
        "user": "install into this user's crontab (default: the current user)",
        "logrotate_dir": "where the log rotation rule goes (default: /etc/logrotate.d)",
        "dry_run": "show the line, install nothing",
    }
)
@console.exits_cleanly
def schedule(
    c, env=LOCAL, on_host=False, user=None, logrotate_dir="/etc/logrotate.d", dry_run=False
):
    """Install the nightly cron line for `inv backup` (idempotent) and its log rotation."""
    from pathlib import PurePosixPath

    from shipyard.backup.schedule import schedule_backups
    from shipyard.config import load_config

    outcome = schedule_backups(
        load_config(c.config),
        env,
        on_host=on_host,
        user=user,
        logrotate_dir=PurePosixPath(logrotate_dir),
        dry_run=dry_run,
        say=console.say,
    )
    if not outcome.dry_run:
        console.result(
            f"{'installed' if outcome.changed else 'already installed'}: cron line(s) above"
            f" ({'crontab of ' + user if user else 'your crontab'}); log rotation in"
            f" {outcome.rule}"
        )


@task(
    help={
        "env": "environment (default: local)",
        "backup": "backup id, or latest",
        "yes": "do not ask for confirmation",
        "dry_run": "show what would be replaced; change nothing",
        "no_safety_backup": "skip the backup of the current data taken first",
        "json": "print JSON",
        "on_host": ON_HOST_HELP,
        "to_time": 'point-in-time recovery of the database: "2026-12-03 10:14:00+00" or latest'
        " (pgBackRest; the objects are left as they are)",
    }
)
@console.exits_cleanly
def restore(
    c,
    env=LOCAL,
    backup="latest",
    yes=False,
    dry_run=False,
    no_safety_backup=False,
    json=False,
    on_host=False,
    to_time=None,
):
    """Restore the database and the objects from a backup (safety backup first), or with
    --to-time the database to a moment (point-in-time recovery)."""
    from shipyard.backup.restore import plan_restore
    from shipyard.backup.restore import restore as run_restore

    if to_time is not None:
        _restore_to_time(c, env, to_time, yes=yes, json=json, on_host=on_host)
        return
    with _context(c, env, on_host) as ctx:
        plan = plan_restore(ctx, backup)
        if json:  # stdout carries the one JSON document only
            if dry_run:
                console.emit_json({"ok": True, "dry_run": True, "plan": plan.lines()})
                return
        else:
            for line in plan.lines():
                console.say(line)
        if dry_run:
            console.result("dry run: nothing was changed")
            return
        console.confirm_name(
            f"Replace the data of {env}?",
            env,
            yes=yes,
            refusal="a restore replaces the database and the objects",
        )
        report = run_restore(
            ctx, plan, step=console.step, warn=console.warn, safety_backup=not no_safety_backup
        )
    if json:
        console.emit_json(
            {
                "ok": True,
                "id": report.manifest.id,
                "plan": plan.lines(),
                "safety_backup": report.safety_backup,
                "seconds": round(report.seconds, 3),
                "tables": report.tables,
                "objects_written": report.objects.written if report.objects else 0,
                "objects_deleted": report.objects.deleted if report.objects else 0,
            }
        )
        return
    for check in report.smoke:
        console.result(f"smoke: {check.name}: {check.detail}")
    if report.safety_backup:
        console.say(f"safety backup of the data before: {report.safety_backup}")
    console.result(f"restored backup {report.manifest.id} into {env} in {report.seconds:.1f} s")


def _restore_to_time(
    c: Context, env: str, to_time: str, *, yes: bool, json: bool, on_host: bool
) -> None:
    from shipyard.backup.pitr_restore import restore_to_time

    with _context(c, env, on_host) as ctx:
        console.confirm_name(
            f"Replace the database of {env} with its state at {to_time}?",
            env,
            yes=yes,
            refusal="a point-in-time restore replaces the database",
        )
        report = restore_to_time(ctx, to_time, console.step)
    if json:
        console.emit_json(
            {
                "ok": True,
                "to_time": to_time,
                "window": [report.window.oldest.isoformat(), report.window.newest.isoformat()],
                "tables": report.tables,
                "safety_volume": report.safety_volume,
                "seconds": round(report.seconds, 3),
            }
        )
        return
    console.result(
        f"{env} recovered to {to_time} in {report.seconds:.1f} s ({report.tables} tables);"
        f" the data before is in volume {report.safety_volume}"
    )


@task(help={"env": "environment whose latest backup to drill (default: local)", "json": "JSON"})
@console.exits_cleanly
def drill(c, env=LOCAL, json=False):
    """Restore the latest backup into a throwaway stack, smoke-test it, time it, remove it."""
    from shipyard.backup.drill import run_drill
    from shipyard.config import load_config

    report = run_drill(load_config(c.config), env, step=console.step, warn=console.warn)
    if json:
        console.emit_json(
            {
                "ok": True,
                "backup": report.backup_id,
                "recovery_seconds": round(report.recovery_seconds, 3),
                "restore_seconds": round(report.restore_seconds, 3),
                "tables": report.tables,
                "objects": report.objects,
            }
        )
        return
    for check in report.smoke:
        console.result(f"smoke: {check.name}: {check.detail}")
    console.result(
        f"drill: backup {report.backup_id} of {env} recovered in {report.recovery_seconds:.1f} s"
        f" (restore {report.restore_seconds:.1f} s, {report.objects} objects); stack removed"
    )


@task(
    help={
        "env": "environment (default: local)",
        "type": "full, diff (changes since the last full) or incr (since the last backup)",
        "json": "print JSON",
        "on_host": ON_HOST_HELP,
    }
)
@console.exits_cleanly
def base(c, env=LOCAL, type="full", json=False, on_host=False):
    """Take a pgBackRest base backup for point-in-time recovery, then expire old ones."""
    from shipyard.backup.pgbackrest import BACKUP_TYPES
    from shipyard.backup.pitr import take_base_backup
    from shipyard.errors import ConfigError

    if type not in BACKUP_TYPES:
        raise ConfigError(
            f"--type {type!r} is not one of {', '.join(BACKUP_TYPES)}",
            hint="full weekly, diff daily is the usual schedule (inv backup.schedule)",
        )
    with _context(c, env, on_host) as ctx:
        report = take_base_backup(ctx, type, console.step)
    backup = report.backup
    if json:
        console.emit_json(
            {
                "ok": True,
                "label": backup.label,
                "type": backup.type,
                "wal": [backup.wal_start, backup.wal_stop],
                "size": backup.size,
                "stored": backup.repo_size,
                "seconds": round(report.seconds, 3),
                "kept": [b.label for b in report.stanza.backups],
            }
        )
        return
    console.result(
        f"base backup {backup.label} ({backup.type}) of {env} in {report.seconds:.1f} s:"
        f" {backup.size / 1e6:.1f} MB, {backup.repo_size / 1e6:.1f} MB stored;"
        f" {len(report.stanza.backups)} base backup(s) kept"
    )


@task(help={"env": "environment (default: local)", "json": "print JSON", "on_host": ON_HOST_HELP})
@console.exits_cleanly
def window(c, env=LOCAL, json=False, on_host=False):
    """The recoverable window of point-in-time recovery (oldest base backup .. newest WAL)."""
    from shipyard.backup.pitr import window as recoverable_window

    with _context(c, env, on_host) as ctx:
        found = recoverable_window(ctx)
    if json:
        console.emit_json(
            {
                "ok": found is not None,
                "env": env,
                "oldest": found.oldest.isoformat() if found else None,
                "newest": found.newest.isoformat() if found else None,
            }
        )
        return
    if found is None:
        console.say(f"no base backup of {env} yet; take one with `inv backup.base --env {env}`")
        return
    console.result(f"{env} can be recovered to any time in {found.describe()}")


collection = Collection("backup", create, list_, verify, prune, schedule, base, window)
dr = Collection("dr", drill)
