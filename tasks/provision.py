"""`inv provision --env NAME [--dry-run]`: a fresh VM to ready-for-deploy (docs/provision.md)."""

from __future__ import annotations

from invoke import Context, task

from shipyard import console
from shipyard.config import load_config


@task(
    name="provision",
    positional=[],
    help={
        "env": "environment whose VM to provision (its provision.user logs in)",
        "dry-run": "list what would change and change nothing",
        "json": "print the result as JSON",
    },
)
@console.exits_cleanly
def provision_(c: Context, env: str = "", dry_run: bool = False, json: bool = False) -> None:
    """Install Docker and Compose, the deploy user, sshd hardening, firewall and the rest."""
    from dataclasses import asdict

    from shipyard.provision.run import provision

    def show(name: str, changed: bool) -> None:
        if json:
            return
        (console.done if changed else console.skipped)(name)

    report = provision(load_config(c.config).environment(env), dry_run=dry_run, progress=show)
    if json:
        console.emit_json(asdict(report))
        return
    if dry_run:
        for name in report.changed:
            console.say(f"  would change  {name}")
    verb = "would change" if dry_run else "changed"
    console.result(
        f"{report.env} ({report.system}, {report.arch}): {len(report.changed)} {verb}, "
        f"{len(report.unchanged)} unchanged in {report.seconds:.0f} s"
    )
