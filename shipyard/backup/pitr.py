"""Point-in-time recovery with pgBackRest: base backups, the repository's state, the
recoverable window, verification. Runs the builders of shipyard.backup.pgbackrest inside
the stack's db container through the site's Runner (here, on the VM, or over SSH).

PostgreSQL itself archives each WAL segment (`archive_command`, compose/compose.pitr.yaml);
what is here is everything a task asks of the repository.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from shipyard.backup import pgbackrest
from shipyard.backup.context import BackupContext, Site
from shipyard.backup.dump import DB_SERVICE
from shipyard.backup.pgbackrest import BaseBackup, StanzaInfo, Window
from shipyard.backup.target import IN_STACK_BACKUP_ENVS
from shipyard.config import PITR_COMPOSE_FILE, Environment
from shipyard.errors import CommandFailedError, ConfigError

Say = Callable[[str], None]
QUERY_TIMEOUT = 300.0
"""Bound of the short commands (info, repo-ls, stanza-create, check): each of their S3
calls is bounded by io-timeout, this stops a command that hangs anyway."""


def require_pitr(env: Environment) -> None:
    """ConfigError unless the environment archives WAL with pgBackRest."""
    if not env.archives_wal:
        raise ConfigError(
            f"environment {env.name} does not archive WAL (point-in-time recovery is off)",
            hint=f"add compose/{PITR_COMPOSE_FILE} to its compose_files in invoke.yaml"
            " (docs/backups.md, Point-in-time recovery)",
        )


def run_checked(site: Site, argv: list[str], what: str, *, timeout: float | None) -> str:
    """Run `argv` on the site's host; its stdout, or CommandFailedError with the tool's
    last ERROR line (else its last line)."""
    result = site.runner.run(argv, env=site.variables, timeout=timeout)
    if not result.ok:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "ERROR" in line]
        detail = (errors or lines or [""])[-1].strip()
        raise CommandFailedError(f"{what} failed (exit {result.exit_code}): {detail}")
    return result.stdout


def run_in_db(site: Site, argv: list[str], what: str, *, timeout: float | None) -> str:
    """Run `argv` in the db container (see run_checked)."""
    return run_checked(site, site.project.exec(DB_SERVICE, argv), what, timeout=timeout)


def ensure_stanza(ctx: BackupContext, step: Say) -> None:
    """The backup bucket (created in local and sandbox) and the stanza (idempotent)."""
    require_pitr(ctx.env)
    ctx.catalog.bucket.check(create=ctx.env.name in IN_STACK_BACKUP_ENVS)
    step("pgbackrest stanza-create (idempotent)")
    run_in_db(
        ctx.site,
        pgbackrest.stanza_create(ctx.settings.io_timeout),
        "pgbackrest stanza-create",
        timeout=QUERY_TIMEOUT,
    )


def stanza_info(ctx: BackupContext) -> StanzaInfo:
    """`pgbackrest info` of the environment's repository."""
    require_pitr(ctx.env)
    text = run_in_db(ctx.site, pgbackrest.info(), "pgbackrest info", timeout=QUERY_TIMEOUT)
    return pgbackrest.parse_info(text)


@dataclass
class BaseBackupReport:
    """A finished base backup, and the repository after it (retention applied)."""

    backup: BaseBackup
    stanza: StanzaInfo
    seconds: float


def take_base_backup(ctx: BackupContext, kind: str, step: Say) -> BaseBackupReport:
    """`inv backup.base`: stanza, then a pgBackRest backup of `kind`, then expire."""
    started = time.monotonic()
    ensure_stanza(ctx, step)
    pitr = ctx.settings.pitr
    step(f"pgbackrest backup --type={kind} (retention: {pitr.retention_full} full)")
    argv = pgbackrest.base_backup(
        kind, retention_full=pitr.retention_full, io_timeout=ctx.settings.io_timeout
    )
    run_in_db(ctx.site, argv, f"pgbackrest backup --type={kind}", timeout=None)
    stanza = stanza_info(ctx)
    if not stanza.backups:
        raise CommandFailedError("pgbackrest backup ended but `pgbackrest info` lists no backup")
    return BaseBackupReport(stanza.backups[-1], stanza, time.monotonic() - started)


def window(ctx: BackupContext) -> Window | None:
    """The recoverable window, None without a base backup."""
    stanza = stanza_info(ctx)
    archive = stanza.newest_archive
    newest_wal = None
    if archive is not None:
        argv = pgbackrest.archive_listing(archive.id, archive.newest)
        text = run_in_db(ctx.site, argv, "pgbackrest repo-ls", timeout=QUERY_TIMEOUT)
        newest_wal = pgbackrest.parse_segment_time(text, archive.newest)
    return pgbackrest.recoverable_window(stanza, newest_wal)


def verify_repository(ctx: BackupContext, step: Say, warn: Say) -> StanzaInfo | None:
    """`pgbackrest check` (a fresh WAL segment reaches the archive) and `pgbackrest verify`
    (every stored file against its checksum) once the repository holds a base backup;
    raises on any problem then. None when there is nothing to verify: before the first base
    backup (a step says so), or when the repository cannot be read at all (`warn` says why;
    the WalArchiveLagging alert fires for the same cause). A logical backup's verification
    never fails on the repository of point-in-time recovery."""
    try:
        info = stanza_info(ctx)
    except CommandFailedError as exc:
        warn(f"pgBackRest repository not verified, point-in-time recovery is at risk: {exc}")
        return None
    if not info.backups:
        step(
            f"pgBackRest: no base backup in the repository yet ({info.status}); take one with"
            f" `inv backup.base --env {ctx.env.name}`"
        )
        return None
    io_timeout = ctx.settings.io_timeout
    step("pgbackrest check: a new WAL segment is archived")
    run_in_db(ctx.site, pgbackrest.check(io_timeout), "pgbackrest check", timeout=QUERY_TIMEOUT)
    step("pgbackrest verify: every backup file and WAL segment against its checksum")
    run_in_db(ctx.site, pgbackrest.verify(io_timeout), "pgbackrest verify", timeout=None)
    return stanza_info(ctx)
