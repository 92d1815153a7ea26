"""`inv restore --to-time`: recover the database to a moment, without touching the live
data directory until the recovered one has proved itself.

1. The target is checked against the recoverable window (outside it: exit 2, one line).
2. `pgbackrest restore` into a NEW volume (a one-off container of the db service, its
   PGDATA moved there), `--type=time --target=T --target-action=promote`, or
   `--type=default` (to the end of the archived WAL) for `latest`.
3. PostgreSQL is started on it in another one-off container, replays the WAL and promotes;
   it must answer `pg_is_in_recovery()` = false and show the app's tables. Any failure
   so far removes the new volume and leaves the live stack as it was.
4. Switch: the app and the database stop; the live data directory is copied into a
   `pgdata-before-<stamp>` volume (the safety copy, kept), the recovered one copied in;
   the database and the app start again and are checked once more.

Pure builders first (the exact command lines), then the one execution layer, which runs
them through the site's Runner: here for `local`, on the VM or over SSH for a VM.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from shipyard.backup.context import BackupContext, Site
from shipyard.backup.dump import DB_SERVICE, psql
from shipyard.backup.pgbackrest import Window, pgbackrest
from shipyard.backup.pitr import require_pitr, run_checked, window
from shipyard.backup.pitr_config import PGDATA
from shipyard.compose import ComposeProject
from shipyard.errors import CommandFailedError, ConfigError

Say = Callable[[str], None]
LATEST = "latest"
RESTORE_MOUNT = "/restore"
RESTORED_PGDATA = f"{RESTORE_MOUNT}/data"
READY_TIMEOUT = 600.0
CHECK_SQL = (
    "SELECT pg_is_in_recovery()::text || ' ' || count(*)::text FROM information_schema.tables"
    " WHERE table_schema = 'public'"
)


def parse_target(text: str) -> datetime | None:
    """`latest` -> None; else an ISO time with a UTC offset ("2026-12-03 10:14:00+00")."""
    if text.strip().lower() == LATEST:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ConfigError(
            f"--to-time {text!r} is not a time with a UTC offset",
            hint='write e.g. --to-time "2026-12-03 10:14:00+00", or --to-time latest',
        )
    return moment.astimezone(UTC)


def check_in_window(target: datetime | None, found: Window | None, env: str) -> None:
    """ConfigError (exit 2) naming the window when `target` cannot be recovered to."""
    if found is None:
        raise ConfigError(
            f"{env} has no base backup to recover from",
            hint=f"take one with `inv backup.base --env {env}`",
        )
    if target is not None and not found.contains(target):
        raise ConfigError(
            f"{target.isoformat(sep=' ')} is outside the recoverable window of {env}:"
            f" {found.describe()}",
            hint=f"pick a time inside it (`inv backup.window --env {env}`)",
        )


def volume_names(project: str, stamp: str) -> tuple[str, str, str]:
    """(live, recovered, safety copy) volume names of the compose project."""
    live = f"{project}_pgdata"
    return live, f"{live}-pitr-{stamp}", f"{live}-before-{stamp}"


def root_shell_argv(project: ComposeProject, volumes: Sequence[str], script: str) -> list[str]:
    """A one-off root container of the db service (no dependencies started) running `sh -c
    script` with `volumes` (`VOLUME:PATH`) mounted beside the service's own."""
    mounts = [option for volume in volumes for option in ("--volume", volume)]
    return [
        *project.base(), "run", "--rm", "--no-deps", "-T", "--user", "0:0", *mounts,
        "--entrypoint", "sh", DB_SERVICE, "-c", script,
    ]  # fmt: skip


def prepare_argv(project: ComposeProject, volume: str) -> list[str]:
    """An empty PGDATA owned by postgres (999) in the new volume (root, no network)."""
    data = RESTORED_PGDATA
    script = f"mkdir -p {data} && chown 999:999 {data} && chmod 0700 {data}"
    return root_shell_argv(project, [f"{volume}:{RESTORE_MOUNT}"], script)


def restore_argv(project: ComposeProject, volume: str, target: datetime | None) -> list[str]:
    """`pgbackrest restore` into the new volume, to `target` (None: the end of the WAL)."""
    if target is None:
        options = ["--type=default"]
    else:
        moment = target.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")
        options = ["--type=time", f"--target={moment}", "--target-action=promote"]
    return [
        *project.base(),
        "run",
        "--rm",
        "--no-deps",
        "-T",
        "--volume",
        f"{volume}:{RESTORE_MOUNT}",
        DB_SERVICE,
        *pgbackrest("restore", f"--pg1-path={RESTORED_PGDATA}", *options),
    ]


def trial_argv(project: ComposeProject, volume: str, name: str) -> list[str]:
    """PostgreSQL on the recovered directory, detached, archiving off (its WAL replay reads
    the archive through restore_command; nothing it writes goes to the repository)."""
    return [
        *project.base(),
        "run",
        "-d",
        "--no-deps",
        "--name",
        name,
        "--env",
        f"PGDATA={RESTORED_PGDATA}",
        "--volume",
        f"{volume}:{RESTORE_MOUNT}",
        DB_SERVICE,
        "postgres",
        "-c",
        "archive_mode=off",
    ]


def switch_argv(project: ComposeProject, recovered: str, safety: str) -> list[str]:
    """With the database stopped: the live PGDATA copied into the safety volume, emptied,
    and the recovered one copied in (root, no network)."""
    script = (
        f"cp -a {PGDATA}/. /before/ && find {PGDATA} -mindepth 1 -delete"
        f" && cp -a {RESTORED_PGDATA}/. {PGDATA}/"
    )
    return root_shell_argv(project, [f"{recovered}:{RESTORE_MOUNT}", f"{safety}:/before"], script)


def parse_check(text: str) -> tuple[bool, int]:
    """(in recovery, number of public tables) from CHECK_SQL's one line."""
    state, _, count = text.strip().partition(" ")
    return state == "true", int(count or 0)


@dataclass
class PitrRestoreReport:
    """A finished point-in-time restore."""

    target: datetime | None
    window: Window
    tables: int
    safety_volume: str
    seconds: float


def _run(site: Site, argv: list[str], what: str) -> str:
    return run_checked(site, argv, what, timeout=None)


def _wait_promoted(site: Site, exec_prefix: list[str], what: str) -> int:
    """Poll until PostgreSQL answers out of recovery; the number of public tables."""
    user, name = site.db.user, site.db.name
    deadline = time.monotonic() + READY_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        result = site.runner.run([*exec_prefix, *psql(user, name, CHECK_SQL)], env=site.variables)
        if result.ok:
            recovering, tables = parse_check(result.stdout)
            if not recovering:
                return tables
            last = "still in recovery"
        else:
            last = (result.stderr.strip().splitlines() or [""])[-1]
        time.sleep(2)
    raise CommandFailedError(f"{what}: not out of recovery after {READY_TIMEOUT:.0f} s ({last})")


def running_image_argv(project: ComposeProject) -> list[str]:
    """The image id the db service's container runs (`docker compose images` style, via
    `ps -q` then inspect in one shell line)."""
    ps = " ".join(shlex.quote(arg) for arg in [*project.base(), "ps", "-q", DB_SERVICE])
    return ["sh", "-c", f'docker inspect --format "{{{{.Image}}}}" $({ps})']


def _pinned(site: Site) -> Site:
    """The site with POSTGRES_IMAGE pinned to the image the live database runs: recovery
    must use the very PostgreSQL (and pgBackRest) that wrote the data directory, whatever
    the tag names now. Unchanged when the database is not running."""
    result = site.runner.run(running_image_argv(site.project), env=site.variables)
    image = result.stdout.strip()
    if not result.ok or not image.startswith("sha256:"):
        return site
    return replace(site, variables={**site.variables, "POSTGRES_IMAGE": image})


def restore_to_time(ctx: BackupContext, to_time: str, step: Say) -> PitrRestoreReport:
    """`inv restore --to-time`: recover, check, then switch in (see the module doc)."""
    started = time.monotonic()
    require_pitr(ctx.env)
    target = parse_target(to_time)
    found = window(ctx)
    check_in_window(target, found, ctx.env.name)
    assert found is not None  # check_in_window refused otherwise
    site = _pinned(ctx.site)
    project = site.project
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    live, recovered, safety = volume_names(project.project, stamp)
    trial = f"{project.project}-pitr-trial-{stamp}"
    _run(site, ["docker", "volume", "create", recovered], "creating the recovery volume")
    try:
        step(f"pgbackrest restore to {to_time} into the new volume {recovered}")
        _run(site, prepare_argv(project, recovered), "preparing the recovery volume")
        _run(site, restore_argv(project, recovered, target), "pgbackrest restore")
        step("starting PostgreSQL on it: WAL replay, then promotion")
        _run(site, trial_argv(project, recovered, trial), "starting the recovered database")
        try:
            tables = _wait_promoted(site, ["docker", "exec", trial], "the recovered database")
        finally:
            site.runner.run(["docker", "stop", "--time", "60", trial])
            site.runner.run(["docker", "rm", "-f", trial])
        if tables == 0:
            raise CommandFailedError("the recovered database has no table in schema public")
        step(f"recovered: {tables} tables, out of recovery; switching it in (stopping app, db)")
        _run(site, ["docker", "volume", "create", safety], "creating the safety volume")
        _run(site, [*project.stop(["app", DB_SERVICE])], "stopping the app and the database")
        _run(site, switch_argv(project, recovered, safety), "switching the data directory")
        _run(site, [*project.start([DB_SERVICE])], "starting the database")
        tables = _wait_promoted(site, project.exec(DB_SERVICE, []), "the database")
        _run(site, [*project.start(["app"])], "starting the app")
    finally:
        site.runner.run(["docker", "volume", "rm", recovered])
    step(f"the data directory before the restore is kept in volume {safety} ({live} is live)")
    return PitrRestoreReport(target, found, tables, safety, time.monotonic() - started)
