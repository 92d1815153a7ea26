"""Deploys to a VM: `inv deploy`, `inv rollback`, `inv releases`, `inv audit`, `inv lock.status`,
`inv lock.release --force`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context, task

from shipyard import console
from shipyard.config import load_config
from shipyard.errors import RefusedError

if TYPE_CHECKING:
    from shipyard.vm.target import Target


def target_for(c: Context, env: str) -> Target:
    """The VM of environment `env` (ConfigError, exit 2, for one that is not a VM)."""
    from shipyard.deploy.preflight import deployable_target

    return deployable_target(load_config(c.config), env)


_CUT_OVER_HELP = {
    "dry-run": "print the plan and change nothing",
    "yes": "do not ask for confirmation (environments that require approval)",
    "ready-timeout": "seconds the new app container gets to become healthy and ready",
    "json": "print the result as JSON",
}


def _report(env: str, outcome: object, json: bool, what: str) -> None:
    """The result of a deploy or rollback: one JSON document, or one line with its time."""
    if json:
        console.emit_json({"env": env, "result": "ok", **vars(outcome)})
        return
    console.result(f"{what} in {vars(outcome)['seconds']:.0f} s")


@task(
    name="deploy",
    positional=[],
    help={
        "env": "environment to deploy to (sandbox, staging, production)",
        "version": "app image tag to deploy (default: the image of this checkout, built if "
        "missing)",
        "backup": "back up the serving release before migrations (default: on where the "
        "environment requires approval, or as backup_before_deploy says)",
        "no-backup": "skip the pre-deploy backup this time",
        **_CUT_OVER_HELP,
    },
)
@console.exits_cleanly
def deploy_(
    c: Context,
    env: str = "",
    version: str = "",
    dry_run: bool = False,
    yes: bool = False,
    ready_timeout: int = 120,
    json: bool = False,
    backup: bool = False,
    no_backup: bool = False,
) -> None:
    """Deploy the app to a VM with zero downtime; roll back by itself when a gate fails."""
    from shipyard.deploy.orchestration import run_deploy
    from shipyard.errors import ConfigError

    if backup and no_backup:
        raise ConfigError("--backup and --no-backup contradict each other", hint="pick one")
    outcome = run_deploy(
        load_config(c.config),
        env,
        version=version or None,
        dry_run=dry_run,
        yes=yes,
        ready_timeout=ready_timeout,
        backup=True if backup else (False if no_backup else None),
    )
    if outcome is not None:
        _report(env, outcome, json, f"deployed {outcome.release} to {env}")


@task(
    positional=[],
    help={
        "env": "environment to roll back (sandbox, staging, production)",
        "to": "release id to go back to (default: the release before the current one)",
        **_CUT_OVER_HELP,
    },
)
@console.exits_cleanly
def rollback(
    c: Context,
    env: str = "",
    to: str = "",
    dry_run: bool = False,
    yes: bool = False,
    ready_timeout: int = 120,
    json: bool = False,
) -> None:
    """Put an earlier release back in service with zero downtime (default: the previous)."""
    from shipyard.deploy.orchestration import run_rollback

    outcome = run_rollback(
        load_config(c.config),
        env,
        to=to or None,
        dry_run=dry_run,
        yes=yes,
        ready_timeout=ready_timeout,
    )
    if outcome is not None:
        _report(env, outcome, json, f"rolled back {env} to {outcome.release} ({outcome.version})")


@task(
    name="status",
    positional=[],
    help={"env": "environment of a VM", "json": "print the result as JSON"},
)
@console.exits_cleanly
def vm_status(c: Context, env: str = "", json: bool = False) -> None:
    """The VM's current release, its containers (health, uptime), free disk and lock."""
    from dataclasses import asdict

    from shipyard.deploy.status import read_status

    found = read_status(target_for(c, env))
    if json:
        console.emit_json(asdict(found))
        return
    release = f"{found.current} ({found.version}, {(found.git_sha or '')[:12]})"
    console.say(f"{env}: {release if found.current else 'nothing deployed'}")
    if found.current:
        console.say(f"  deployed {found.deployed_at} by {found.deployed_by}")
    console.say(f"  disk free {found.disk_free_mb} MB; deploy lock {found.lock}")
    for row in found.containers:
        console.say(f"  {row.service:<12} {row.name:<24} {row.state:<9} {row.status}")


@task(positional=[], help={"env": "environment whose releases to list"})
@console.exits_cleanly
def releases(c: Context, env: str = "") -> None:
    """The releases on the VM, oldest first; `*` marks the current one."""
    from shipyard.vm.releases import list_releases

    for entry in list_releases(target_for(c, env)):
        facts = entry.facts
        mark = "*" if entry.current else " "
        what = f"{facts.version} {facts.git_sha[:12]} by {facts.deployed_by}" if facts else "?"
        console.say(f"{mark} {entry.name}  {what}")


@task(
    positional=[],
    help={
        "env": "environment whose audit log to show",
        "lines": "how many lines",
        "json": "print the records as one JSON document",
    },
)
@console.exits_cleanly
def audit(c: Context, env: str = "", lines: int = 20, json: bool = False) -> None:
    """The last lines of the VM's audit log (deploys and rollbacks)."""
    from shipyard.deploy.audit import read

    records = read(target_for(c, env), lines)
    if json:
        console.emit_json({"env": env, "records": records})
        return
    for record in records:
        extra = f"  backup {record['backup']}" if record.get("backup") else ""
        if record.get("detail"):
            extra += f"  ({record['detail']})"
        console.say(
            f"{record['at']}  {record['action']:<8} {record['result']:<6} "
            f"{record['release']}  {record['who']}  {record['seconds']} s{extra}"
        )


@task(name="status", positional=[], help={"env": "environment whose deploy lock to show"})
@console.exits_cleanly
def lock_status(c: Context, env: str = "") -> None:
    """Who holds the deploy lock of an environment, if anyone."""
    from shipyard.deploy.lock import holder, holder_alive

    target = target_for(c, env)
    found = holder(target)
    if found is None:
        console.result(f"{env}: not locked")
        return
    console.result(f"{env}: locked by {found.describe()} (holder process {holder_alive(target)})")


@task(
    name="release",
    positional=[],
    help={"env": "environment whose lock to remove", "force": "required: remove it anyway"},
)
@console.exits_cleanly
def lock_release(c: Context, env: str = "", force: bool = False) -> None:
    """Remove a deploy lock left by a client that died (check `inv lock.status` first)."""
    from shipyard.deploy.lock import force_release

    target = target_for(c, env)  # bad input first: exit 2 before the refusal
    if not force:
        raise RefusedError(
            "removing a deploy lock can break a deploy that is still running",
            hint=f"check `inv lock.status --env {env}`, then pass --force",
        )
    removed = force_release(target)
    console.result(f"removed the lock held by {removed.describe()}" if removed else "no lock")


lock = Collection("lock")
lock.add_task(lock_status)
lock.add_task(lock_release)
