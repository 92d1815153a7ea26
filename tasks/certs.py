"""Certificates of an https environment: `inv certs.issue`, `certs.renew`, `certs.status`."""

from __future__ import annotations

from invoke import Collection, task

from shipyard import console
from shipyard.config import load_config


def _print_info(info, now) -> None:
    if info is None:
        return
    console.say(f"  issuer      {info.issuer}")
    console.say(f"  names       {', '.join(info.names)}")
    console.say(f"  not after   {info.not_after:%Y-%m-%d %H:%M} UTC")
    due = " (renewal due)" if info.renewal_due(now) else ""
    console.say(f"  days left   {info.days_left(now):.1f} of {info.lifetime_days:.0f}{due}")


def _print(report, json: bool) -> None:
    import datetime

    if json:
        console.emit_json(report.to_dict())
    elif report.info is None:
        console.warn(f"{report.env}: no certificate is served yet")
    else:
        console.result(f"{report.env}: certificate {report.action}")
        _print_info(report.info, datetime.datetime.now(datetime.UTC))


@task(help={"env": "environment (https PUBLIC_URL)", "json": "print the result as JSON"})
@console.exits_cleanly
def issue(c, env, json=False):
    """Get a new certificate from the environment's ACME server (or install your own)."""
    from shipyard.edge.command import issue_certificate

    _print(issue_certificate(load_config(c.config), env), json)


@task(
    help={
        "env": "environment (https PUBLIC_URL)",
        "force": "renew now, whatever is left",
        "json": "print the result as JSON",
    }
)
@console.exits_cleanly
def renew(c, env, force=False, json=False):
    """Renew the certificate when a third of its lifetime is left (or now with --force)."""
    from shipyard.edge.command import renew_certificate

    _print(renew_certificate(load_config(c.config), env, force=force), json)


@task(help={"env": "environment (https PUBLIC_URL)", "json": "print the result as JSON"})
@console.exits_cleanly
def status(c, env, json=False):
    """The certificate nginx serves: issuer, names, not-after, days left."""
    from shipyard.edge.command import certificate_status

    _print(certificate_status(load_config(c.config), env), json)


@task(
    name="restore",
    help={
        "env": "environment (a VM with an https PUBLIC_URL)",
        "backup": "backup id, or latest (default)",
        "yes": "do not ask (for scripts)",
        "dry_run": "show what would be put back; change nothing",
        "json": "print the result as JSON",
    },
)
@console.exits_cleanly
def restore_(c, env, backup="latest", yes=False, dry_run=False, json=False):
    """Put a backup's ACME account and certificates back into the VM's shared/certs."""
    import datetime

    from shipyard.edge.restore import restore_certificates

    now = datetime.datetime.now(datetime.UTC)

    def approve(plan) -> bool:
        if json:  # stdout carries the one JSON document only
            if dry_run:
                console.emit_json({"env": env, "dry_run": True, "plan": plan.lines(now)})
                return False
        else:
            for line in plan.lines(now):
                console.say(line)
        if dry_run:
            console.result("dry run: nothing was changed")
            return False
        console.confirm(
            f"Serve {env}'s certificate from backup {plan.backup_id}?",
            yes=yes,
            refusal="a restore replaces the certificate nginx serves",
        )
        return True

    report = restore_certificates(load_config(c.config), env, backup, approve)
    if report is None:
        return
    if json:
        console.emit_json(report.to_dict(now))
        return
    console.result(f"{env}: certificates of backup {report.backup_id} put back")
    _print_info(report.served, now)


collection = Collection("certs", issue, renew, status, restore_)
