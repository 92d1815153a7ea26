"""One deploy, the eight steps of docs/architecture.md in order, with automatic rollback."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from shipyard import console
from shipyard.config import BackupConfig
from shipyard.deploy import (
    audit,
    bundle,
    lock,
    predeploy_backup,
    preflight,
    prune,
    recover,
    registry,
    ship,
)
from shipyard.deploy.cutover import cut_over
from shipyard.deploy.migrate import migrate
from shipyard.deploy.plan import prepare_dirs_argv
from shipyard.errors import ShipyardError
from shipyard.images.engine import Engine
from shipyard.monitoring import vm as monitoring
from shipyard.vm import releases
from shipyard.vm.releases import ReleaseFacts
from shipyard.vm.target import Target


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy where."""

    release: str
    app: preflight.AppImage
    images: dict[str, str]
    """Third-party compose variable -> image reference."""
    env_file: preflight.EnvFile
    ready_timeout: float = 120.0
    backup: BackupConfig | None = None
    """Back up the serving release before migrations, with these settings (None: no)."""
    monitoring: monitoring.Plan | None = None
    """Ship and start the monitoring profile with the release (None: MONITORING is off)."""


@dataclass(frozen=True)
class DeployOutcome:
    """A successful deploy."""

    release: str
    previous: str | None
    shipped: list[str]
    pruned: list[str]
    seconds: float
    backup: str | None = None
    """The id of the pre-deploy backup, when one was taken."""
    monitoring: str = "off"
    """`off`, `running: SERVICES`, or `FAILED: why` (the release serves all the same)."""


def deploy(target: Target, request: DeployRequest, engine: Engine) -> DeployOutcome:
    """Preflight on the VM, lock, then ship, upload, migrate, switch, smoke, finish."""
    started = time.monotonic()
    preflight.check_vm(target)
    preflight.check_architecture(target, engine, [request.app.ref, *request.images.values()])
    target.run(prepare_dirs_argv(target.layout), "creating the deploy directories")
    with lock.held(target, version=request.app.version) as taken:
        holder = taken.holder
        console.done(f"deploy lock taken ({holder.owner})")
        record = dict(
            action="deploy",
            env=target.env.name,
            release=request.release,
            version=request.app.version,
            git_sha=request.app.git_sha,
            who=holder.owner,
            at=holder.since,
        )
        after_dead_client(target, taken, record)
        try:
            outcome = _deploy_locked(target, request, engine, started)
        except ShipyardError as exc:
            audit.append(
                target,
                audit.AuditRecord(
                    **record,
                    result="failed",
                    seconds=round(time.monotonic() - started, 1),
                    detail=exc.message.splitlines()[0][:300],
                ),
            )
            raise
        audit.append(
            target,
            audit.AuditRecord(
                **record, result="ok", seconds=outcome.seconds, backup=outcome.backup or ""
            ),
        )
    return outcome


def after_dead_client(target: Target, taken: lock.Taken, record: dict[str, str]) -> None:
    """Audit a stale lock taken over, then clean what a dead deploy left behind."""
    if taken.took_over:
        audit.append(
            target,
            audit.AuditRecord(
                **{**record, "action": "lock-takeover"},
                result="ok",
                seconds=0.0,
                detail=taken.took_over,
            ),
        )
    for line in recover.clean_leftovers(target):
        console.done(line)


def _deploy_locked(
    target: Target, request: DeployRequest, engine: Engine, started: float
) -> DeployOutcome:
    wanted = {request.app.ref: request.app.image_id}
    wanted.update(ship.local_ids(engine, request.images.values()))
    login = registry.login_for(request.env_file.values)
    shipped = ship.ship(target, wanted, engine, login)

    previous = releases.current_release(target)
    facts = ReleaseFacts(
        release=request.release,
        env=target.env.name,
        version=request.app.version,
        git_sha=request.app.git_sha,
        app_image=request.app.ref,
        app_image_id=request.app.image_id,
        images={"APP_IMAGE": request.app.ref, **request.images},
        deployed_by=lock.whoami(),
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    bundle.upload(target, facts, request.env_file.text, request.monitoring)
    console.done(f"uploaded release {request.release}")

    def prepare() -> str | None:
        """Steps 4 and 5, inside the cut-over's undo (a failure removes the release);
        the pre-deploy backup's id, when one was taken."""
        backup = None
        if request.backup is not None:
            if previous is None:
                console.skipped("pre-deploy backup: nothing is deployed yet")
            else:
                values = request.env_file.values
                backup = predeploy_backup.take(target, request.backup, values)
        migrate(target, request.release, request.app.migrations_head, request.env_file.values)
        return backup

    backup = cut_over(target, facts, previous, request.ready_timeout, prepare=prepare)
    profile = start_monitoring(target, request)
    pruned = prune.prune(target)
    return DeployOutcome(
        release=request.release,
        previous=previous,
        shipped=shipped,
        pruned=pruned,
        seconds=round(time.monotonic() - started, 1),
        backup=backup,
        monitoring=profile,
    )


def start_monitoring(target: Target, request: DeployRequest) -> str:
    """Start the monitoring profile from the release now serving, once its cut-over is
    done (it never delays or undoes it). A failure is reported, loudly, and does not fail
    the deploy: the release is live and correct; `inv monitoring.up --env NAME` retries.
    With MONITORING off, a profile an earlier release started is removed (volumes kept)."""
    try:
        return _converge_monitoring(target, request)
    except ShipyardError as exc:
        first = exc.message.splitlines()[0]
        console.warn(
            f"MONITORING FAILED: {first}; the release serves, but nothing watches it. "
            f"Fix it, then `inv monitoring.up --env {target.env.name}`"
        )
        return f"FAILED: {first}"


def _converge_monitoring(target: Target, request: DeployRequest) -> str:
    if request.monitoring is None:
        removed = monitoring.remove(target)
        if removed:
            console.done(f"MONITORING is off: removed {', '.join(removed)} (data volumes kept)")
        return "off"
    for service, reason in request.monitoring.left_out.items():
        console.warn(f"monitoring: {service} left out: {reason}")
    started = monitoring.start(target, request.release, request.monitoring.textfile)
    console.done(f"monitoring profile running: {', '.join(started)}")
    return f"running: {', '.join(started)}"
