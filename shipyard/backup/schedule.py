"""The cron line that runs `inv backup` every night, and its log rotation.

Pure builders (the exact line, the merged crontab, the logrotate rule) plus installing
them through a Runner on the host that runs the stack, with `crontab -` (idempotent: the
line carrying this environment's marker is replaced, never duplicated);
`schedule_backups` is `inv backup.schedule` from the environment's name on.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from shipyard.backup.context import BackupContext, open_backup, require_on_host
from shipyard.config import PROJECT_ROOT, ShipyardConfig
from shipyard.errors import CommandFailedError, PrerequisiteError
from shipyard.remote import Runner

CRON_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_MAX_SIZE = "10M"
LOG_KEEP = 5


@dataclass(frozen=True)
class CronJob:
    """What cron runs, where, and where its output goes."""

    schedule: str
    workdir: PurePosixPath
    inv: PurePosixPath
    env: str
    project: str
    log_file: PurePosixPath
    on_host: bool
    task: tuple[str, ...] = ("backup",)
    """The inv task and its own options (`backup.base --type full` for base backups)."""
    kind: str = ""
    """Tells this job's line apart from the nightly dump's (e.g. `base-full`)."""

    @property
    def marker(self) -> str:
        """The comment that identifies this environment's line in a crontab."""
        name = f"shipyard-backup-{self.kind}" if self.kind else "shipyard-backup"
        return f"# {name} {self.project}/{self.env}"

    def line(self) -> str:
        """The exact crontab line."""
        on_host = ["--on-host"] if self.on_host else []
        args = [*self.task, "--env", self.env, *on_host, "--json"]
        command = " ".join(
            [
                f"cd {shlex.quote(str(self.workdir))} &&",
                f"PATH={CRON_PATH}",
                shlex.quote(str(self.inv)),
                *args,
                f">> {shlex.quote(str(self.log_file))} 2>&1",
            ]
        )
        return f"{self.schedule} {command} {self.marker}"


def merged_crontab(existing: str, job: CronJob) -> str:
    """`existing` with this job's line added, or replacing its previous version."""
    kept = [line for line in existing.splitlines() if not line.endswith(job.marker)]
    return "\n".join([*kept, job.line()]) + "\n"


def logrotate_rule(log_file: PurePosixPath) -> str:
    """Rotate the log at 10 MB, keep 5 compressed generations."""
    return (
        f"{log_file} {{\n"
        f"    size {LOG_MAX_SIZE}\n"
        f"    rotate {LOG_KEEP}\n"
        "    compress\n"
        "    delaycompress\n"
        "    missingok\n"
        "    notifempty\n"
        "    copytruncate\n"
        "}\n"
    )


def current_crontab(runner: Runner, user: str | None) -> str:
    """The user's crontab, empty when there is none."""
    result = runner.run(["crontab", *(["-u", user] if user else []), "-l"])
    if result.ok:
        return result.stdout
    if "no crontab" in result.stderr.lower():
        return ""
    result.raise_for_status("crontab -l")
    return ""


def install(
    runner: Runner, job: CronJob, *, user: str | None, logrotate_dir: PurePosixPath
) -> tuple[bool, str]:
    """Install the cron line and the logrotate rule; (changed, logrotate path)."""
    if not runner.run(["sh", "-c", "command -v crontab"]).ok:
        raise PrerequisiteError(
            "crontab is not installed on the host",
            hint="install cron (Debian: apt-get install cron) and start it",
        )
    existing = current_crontab(runner, user)
    wanted = merged_crontab(existing, job)
    changed = wanted != existing
    if changed:
        argv = ["crontab", *(["-u", user] if user else []), "-"]
        runner.run(argv, stdin=wanted.encode()).raise_for_status("crontab -")
        if current_crontab(runner, user) != wanted:
            raise CommandFailedError("crontab did not keep the new line; check `crontab -l`")
    rule = logrotate_dir / f"shipyard-backup-{job.project}-{job.env}"
    script = f'mkdir -p "{job.log_file.parent}" "{logrotate_dir}" && cat > "{rule}"'
    runner.run(["sh", "-c", script], stdin=logrotate_rule(job.log_file).encode()).raise_for_status(
        f"writing {rule}"
    )
    return changed, str(rule)


@dataclass(frozen=True)
class ScheduleOutcome:
    """What `inv backup.schedule` installed (nothing with dry_run)."""

    job: CronJob
    dry_run: bool
    changed: bool = False
    rule: str = ""
    """Where the logrotate rule was written."""


def cron_job(ctx: BackupContext) -> CronJob:
    """The nightly job of a backup context: this checkout's `inv`, run from this checkout,
    logging where the settings say on the stack's host."""
    return CronJob(
        schedule=ctx.settings.schedule,
        workdir=PurePosixPath(PROJECT_ROOT),
        inv=PurePosixPath(sys.executable).with_name("inv"),
        env=ctx.env.name,
        project=ctx.env.project,
        log_file=ctx.host_path(ctx.settings.log_file),
        on_host=not ctx.env.is_local,
    )


def base_backup_jobs(ctx: BackupContext) -> list[CronJob]:
    """pgBackRest's base backups beside the nightly dump, where the stack archives WAL: a
    full one and a differential one, on the schedules of `backup.pitr`."""
    if not ctx.env.archives_wal:
        return []
    nightly, pitr = cron_job(ctx), ctx.settings.pitr
    return [
        replace(nightly, schedule=when, task=("backup.base", "--type", kind), kind=f"base-{kind}")
        for kind, when in (("full", pitr.full_schedule), ("diff", pitr.diff_schedule))
    ]


def schedule_backups(
    config: ShipyardConfig,
    env_name: str,
    *,
    on_host: bool,
    user: str | None,
    logrotate_dir: PurePosixPath,
    dry_run: bool,
    say: Callable[[str], None],
) -> ScheduleOutcome:
    """Install the nightly cron line of `env_name` and its log rotation on the stack's
    host (this task must run there); `say` shows the line first, and with dry_run the
    rule, installing nothing."""
    require_on_host(config.environment(env_name), on_host)
    with open_backup(config, env_name, on_host=on_host) as ctx:
        job = cron_job(ctx)
        jobs = [job, *base_backup_jobs(ctx)]
        for each in jobs:
            say(each.line())
        if dry_run:
            say(logrotate_rule(job.log_file).rstrip())
            return ScheduleOutcome(job, dry_run=True)
        changed, rule = False, ""
        for each in jobs:
            installed, rule = install(ctx.site.runner, each, user=user, logrotate_dir=logrotate_dir)
            changed = changed or installed
    return ScheduleOutcome(job, dry_run=False, changed=changed, rule=rule)
