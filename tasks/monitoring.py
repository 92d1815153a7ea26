"""The monitoring profile: `inv monitoring.up`, `.status`, `.open`, and `inv alerts.test`.
Thin: parse, call shipyard.monitoring, print."""

from __future__ import annotations

import os

from invoke import Collection, task

from shipyard import console
from shipyard.config import load_config

LOCAL = "local"


@task(help={"env": "environment to watch (default: local; a VM: from its current release)"})
@console.exits_cleanly
def up(c, env=LOCAL):
    """Start the monitoring profile beside the running stack (local: inv up first)."""
    from shipyard.monitoring.local import start_profile

    report = start_profile(load_config(c.config), env, console.step, console.warn)
    console.result(f"monitoring up: {', '.join(report.services)}")
    console.say("Next: `inv monitoring.status`, `inv monitoring.open`, `inv alerts.test`.")


@task(help={"env": "environment (default: local)", "json": "print the result as JSON"})
@console.exits_cleanly
def status(c, env=LOCAL, json=False):
    """Scrape targets (up/down) and the alerts pending or firing, from Prometheus."""
    from shipyard.monitoring.runtime import read_status
    from shipyard.remote.factory import runner_for

    environment = load_config(c.config).environment(env)
    report = read_status(runner_for(environment), environment.project)
    if json:
        console.emit_json({"env": env, **report.as_dict()})
        return
    for target in report.targets:
        error = f"  {target.last_error}" if target.last_error else ""
        console.say(f"{target.health:<8} {target.job:<18} {target.instance}{error}")
    for alert in report.alerts:
        console.say(f"{alert.state:<8} {alert.name:<30} {alert.severity:<9} {alert.summary}")
    if not report.alerts:
        console.say("no alert pending or firing")
    console.result("every target up" if report.all_up else "some targets are down")


@task(help={"env": "environment to reach (default: local)"})
@console.exits_cleanly
def open_(c, env=LOCAL):
    """Prometheus, Alertmanager and Grafana on this machine's loopback (SSH forward to a VM)."""
    from shipyard.monitoring.tunnel import find_forwards, forward_argv
    from shipyard.remote.factory import runner_for

    environment = load_config(c.config).environment(env)
    forwards = find_forwards(runner_for(environment), environment.project)
    if environment.is_local:
        for forward in forwards:
            console.say(f"{forward.service:<13} http://127.0.0.1:{forward.remote_port}")
        return
    argv = forward_argv(environment, forwards)
    for forward in forwards:
        console.say(f"{forward.service:<13} {forward.url}")
    console.say("forwarding over SSH; Ctrl-C ends it")
    os.execvp(argv[0], argv)  # noqa: S606 - replaces this process with ssh on purpose


@task(
    help={
        "env": "environment (default: local)",
        "severity": "warning (email, Slack) or critical (PagerDuty, email)",
    }
)
@console.exits_cleanly
def test(c, env=LOCAL, severity="warning"):
    """Send a test alert through Alertmanager's real route; it resolves after 5 minutes."""
    from shipyard.errors import ConfigError
    from shipyard.monitoring.runtime import send_test_alert
    from shipyard.remote.factory import runner_for

    if severity not in ("warning", "critical"):
        raise ConfigError(f"--severity {severity!r}", hint="use warning or critical")
    environment = load_config(c.config).environment(env)
    send_test_alert(runner_for(environment), environment.project, env, severity)
    console.result(f"test alert ({severity}) sent through {env}'s Alertmanager")


collection = Collection("monitoring")
collection.add_task(up)
collection.add_task(status)
collection.add_task(open_, name="open")
alerts = Collection("alerts")
alerts.add_task(test)
