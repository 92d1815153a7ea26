"""Secrets: `inv secrets.rotate` (the collection is named `secrets` in tasks/__init__.py;
the module is not, so it never hides the standard library's `secrets`)."""

from __future__ import annotations

from invoke import Context, task

from shipyard import console
from shipyard.config import load_config


@task(
    help={
        "env": "environment (local, sandbox, staging, production)",
        "name": "the secret to change: POSTGRES_PASSWORD, or S3_SECRET_KEY (with S3_ACCESS_KEY)",
        "dry-run": "print the steps and change nothing",
        "yes": "do not ask for confirmation (environments that require approval)",
        "json": "print the result as JSON",
    }
)
@console.exits_cleanly
def rotate(
    c: Context,
    env: str = "local",
    name: str = "POSTGRES_PASSWORD",
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """Change a secret where it is checked, write it to the env file, roll the app onto it."""
    from shipyard.rotation.rotate import rotate as rotate_secret

    outcome = rotate_secret(load_config(c.config), env, name, dry_run=dry_run, yes=yes)
    if outcome is None:
        return
    if json:
        console.emit_json({"result": "ok", **vars(outcome)})
        return
    serving = f"; the app runs release {outcome.release}" if outcome.release else ""
    console.result(f"rotated {outcome.name} of {outcome.env} ({outcome.env_file}){serving}")
