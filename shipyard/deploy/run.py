"""One deploy, the eight steps of DESIGN.md in order, with automatic rollback."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from shipyard import console
from shipyard.deploy import audit, bundle, lock, preflight, prune, recover, ship
from shipyard.deploy.context import Target
from shipyard.deploy.cutover import cut_over
from shipyard.deploy.plan import APP_SERVICE, ENSURE_BUCKET, MIGRATE, prepare_dirs_argv
from shipyard.deploy.switch import start_data_services
from shipyard.errors import CommandFailedError
from shipyard.images.engine import Engine

MIGRATION_TIMEOUT = 600


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy where."""

    release: str
    app: preflight.AppImage
    images: dict[str, str]
    """Third-party compose variable -> image reference."""
    env_text: str
    ready_timeout: float = 120.0


@dataclass(frozen=True)
class DeployOutcome:
    """A successful deploy."""

    release: str
    previous: str | None
    shipped: list[str]
    pruned: list[str]
    seconds: float


def deploy(target: Target, request: DeployRequest, engine: Engine) -> DeployOutcome:
    """Preflight on the VM, lock, then ship, upload, migrate, switch, smoke, finish."""
    started = time.monotonic()
    preflight.check_vm(target)
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
        except CommandFailedError as exc:
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
        audit.append(target, audit.AuditRecord(**record, result="ok", seconds=outcome.seconds))
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
    shipped = ship.ship(target, wanted, engine)

    previous = prune.current_release(target)
    facts = bundle.ReleaseFacts(
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
    bundle.upload(target, facts, request.env_text)
    console.done(f"uploaded release {request.release}")

    cut_over(
        target,
        facts,
        previous,
        request.ready_timeout,
        prepare=lambda: _migrate(target, request.release),
    )
    pruned = prune.prune(target)
    return DeployOutcome(
        release=request.release,
        previous=previous,
        shipped=shipped,
        pruned=pruned,
        seconds=round(time.monotonic() - started, 1),
    )


def _migrate(target: Target, release: str) -> None:
    """Start the data services if needed, ensure the bucket, migrate (one-off containers)."""
    start_data_services(target, release)
    project = target.project(release)
    target.run(project.run_once(APP_SERVICE, ENSURE_BUCKET), "creating the object bucket")
    result = target.run(
        project.run_once(APP_SERVICE, MIGRATE), "migrations", timeout=MIGRATION_TIMEOUT
    )
    output = (result.stdout + result.stderr).splitlines()
    applied = [line for line in output if "Running upgrade" in line]
    console.done(f"migrations: {len(applied)} applied" if applied else "migrations: up to date")
