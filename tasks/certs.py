"""Certificates of an https environment: `inv certs.issue`, `certs.renew`, `certs.status`."""

from __future__ import annotations

from invoke import Collection, task

from shipyard import console
from shipyard.config import load_config


def _print(report, json: bool) -> None:
    import datetime

    if json:
        console.emit_json(report.to_dict())
    elif report.info is None:
        console.warn(f"{report.env}: no certificate is served yet")
    else:
        info = report.info
        left = info.days_left(datetime.datetime.now(datetime.UTC))
        console.result(f"{report.env}: certificate {report.action}")
        console.say(f"  issuer      {info.issuer}")
        console.say(f"  names       {', '.join(info.names)}")
        console.say(f"  not after   {info.not_after:%Y-%m-%d %H:%M} UTC")
        due = " (renewal due)" if info.renewal_due(datetime.datetime.now(datetime.UTC)) else ""
        console.say(f"  days left   {left:.1f} of {info.lifetime_days:.0f}{due}")


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


collection = Collection("certs", issue, renew, status)
