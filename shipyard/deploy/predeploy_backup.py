"""Step 4 of a deploy: a backup of the serving release's database and bucket, taken after
the bundle is on the VM and before migrations touch the data.

On by default where deploys need approval (production), configurable per environment
(`backup_before_deploy` in invoke.yaml) and per run (`--backup` / `--no-backup`). It is
`inv backup` from this workstation over the deploy's own SSH connection: pg_dump in the
current release's db container, the bucket through an SSH port forward, the backup store
named by the env file (BACKUP_S3_*), the backup lock held. Retention is left to the nightly
run. A failed backup fails the deploy before any migration, and traffic never moves.
"""

from __future__ import annotations

from shipyard import console
from shipyard.backup.context import backup_context, deployed_site
from shipyard.backup.create import run_backup
from shipyard.backup.crypto import load_key
from shipyard.backup.target import IN_STACK_BACKUP_ENVS, backup_target
from shipyard.config import BackupConfig, Environment
from shipyard.vm.target import Target

KIND = "pre-deploy"
"""The manifest's `kind` of these backups (`inv backup.list` shows it)."""


def wanted(env: Environment, override: bool | None) -> bool:
    """Whether this deploy backs up first: `--backup`/`--no-backup` when given, else the
    environment's `backup_before_deploy`, else whether it requires approval."""
    if override is not None:
        return override
    if env.backup_before_deploy is not None:
        return env.backup_before_deploy
    return env.requires_approval


def check_store(env: Environment, values: dict[str, str]) -> None:
    """ConfigError (before any change) unless the env file names a usable backup store
    and, when it names one, a readable encryption key."""
    if not values.get("BACKUP_S3_ENDPOINT") and env.name in IN_STACK_BACKUP_ENVS:
        return
    target = backup_target(values, env.name, env.path(env.env_file), None)
    if target.key_file:
        load_key(target.key_file)


def take(target: Target, settings: BackupConfig, values: dict[str, str]) -> str:
    """Back up the current release's data; returns the backup id."""
    site = deployed_site(target.env, target.runner, values, settings.object_workers, borrowed=True)
    with backup_context(settings, site) as ctx:
        report = run_backup(
            ctx, kind=KIND, step=console.step, warn=console.warn, apply_retention=False
        )
    manifest = report.manifest
    console.done(
        f"pre-deploy backup {manifest.id} ({manifest.database.stored_bytes / 1e6:.1f} MB"
        f" database, {manifest.objects.count} objects, {manifest.duration_seconds:.0f} s)"
    )
    return manifest.id
