"""`inv dr.drill`: restore the latest backup into a throwaway stack on this machine and
prove it works, timing the recovery.

The throwaway stack is the local compose setup under its own project name, free ports and
a fresh env file with its own secrets (never the source environment's); it reads the
source environment's backup store and is removed with its volumes afterwards, whatever
happened.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.backup.context import BackupContext, open_backup, site_for
from shipyard.backup.restore import restore_into
from shipyard.checks.smoke import CheckResult, run_smoke_suite
from shipyard.config import ShipyardConfig
from shipyard.envfile.init import new_env_text, write_new_env_file
from shipyard.envfile.load import read_env_file
from shipyard.errors import CommandFailedError
from shipyard.images.resolve import resolve_images
from shipyard.stack import DATA_SERVICES, LocalStack, open_stack

Say = Callable[[str], None]
DRILL_ENV = "local"


@dataclass
class DrillReport:
    """How the drill went."""

    backup_id: str = ""
    project: str = ""
    url: str = ""
    restore_seconds: float = 0.0
    recovery_seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    smoke: list[CheckResult] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _throwaway_stack(config: ShipyardConfig, source_project: str, workdir: Path) -> LocalStack:
    url = f"http://127.0.0.1:{_free_port()}"
    env_file = workdir / ".env"
    write_new_env_file(env_file, new_env_text(DRILL_ENV, public_url=url))
    env = config.environment(DRILL_ENV).model_copy(
        update={
            "project": f"{source_project}-drill-{uuid.uuid4().hex[:6]}",
            "env_file": env_file,
            "public_url": url,
        }
    )
    return open_stack(env, config.app_name, resolve_images(config.images.source))


def run_drill(config: ShipyardConfig, env_name: str, *, step: Say, warn: Say) -> DrillReport:
    """Throwaway stack, restore of the latest backup of `env_name`, smoke checks, teardown."""
    started = time.monotonic()
    report = DrillReport()
    workdir = Path(tempfile.mkdtemp(prefix="shipyard-drill-"))
    stack: LocalStack | None = None
    try:
        stack = _throwaway_stack(config, config.environment(env_name).project, workdir)
        report.project, report.url = stack.env.project, stack.env.public_url
        step(f"throwaway stack {report.project}: starting PostgreSQL and the object store")
        if stack.image_id() is None:
            stack.build_app()
        stack.start(DATA_SERVICES)
        values = read_env_file(stack.env.env_file)
        site = site_for(stack, values, config.backup.object_workers)
        ctx: BackupContext = open_backup(config, env_name, site=site)
        manifest = ctx.catalog.resolve("latest")
        ctx.catalog.require_key_for(manifest)
        report.backup_id = manifest.id
        index = ctx.catalog.read_index(manifest)
        restore_started = time.monotonic()
        result = restore_into(
            site, ctx.catalog, manifest, index, workers=ctx.settings.object_workers, step=step
        )
        report.objects = result.written + result.unchanged
        report.tables = site.db.table_stats()
        step("starting the app and nginx")
        stack.start()
        report.restore_seconds = time.monotonic() - restore_started
        step(f"smoke checks through {report.url}")
        report.smoke = run_smoke_suite(report.url, burst=False).checks
        report.recovery_seconds = time.monotonic() - started
    finally:
        if stack is not None:
            step(f"tearing down {stack.env.project}")
            try:
                stack.stop(volumes=True)
            except CommandFailedError as exc:
                warn(f"could not remove the throwaway stack: {exc.one_line()}")
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [check for check in report.smoke if not check.ok]
    if failed:
        detail = "; ".join(f"{check.name}: {check.detail}" for check in failed)
        raise CommandFailedError(f"drill: the restored stack failed its smoke checks: {detail}")
    return report
