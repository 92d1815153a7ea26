"""The local stack: `inv setup`, `inv up`, `inv down`, `inv ps`, `inv logs`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Context, task

from shipyard import console
from shipyard.config import load_config

if TYPE_CHECKING:
    from shipyard.stack import LocalStack

LOCAL = "local"


def _stack(c: Context, env: str, *, prepare_images: bool) -> LocalStack:
    """The stack of `env`; with prepare_images, pull or build missing images first."""
    from shipyard.images.resolve import current_images, resolve_images
    from shipyard.stack import open_stack

    config = load_config(c.config)
    environment = config.environment(env)
    choose = resolve_images if prepare_images else current_images
    return open_stack(environment, config.app_name, choose(config.images.source))


@task(help={"env": "environment whose local stack to set up (default: local)"})
@console.exits_cleanly
def setup(c, env=LOCAL):
    """Day one: check prerequisites, write .env, build, start, migrate and smoke-test."""
    from shipyard.local_setup import run_setup

    report = run_setup(load_config(c.config), env, console.step)
    for check in report.smoke:
        console.result(f"smoke: {check.name}: {check.detail}")
    console.say("")
    console.say(f"The stack is up in {report.seconds:.0f} s:", style="bold")
    console.say(f"  app (through nginx)  {report.public_url}")
    console.say(f"  app image            {report.image}")
    console.say(f"  env file             {report.env_file} (mode 0600, never committed)")
    for service in report.services:
        console.say(f"  {service.service:<20} {service.state} {service.health}".rstrip())
    console.say("Next: `inv ps`, `inv logs --service app`, `inv down`.")


@task(help={"env": "environment (default: local)", "build": "rebuild the app image first"})
@console.exits_cleanly
def up(c, env=LOCAL, build=True):
    """Start the stack (building the app image when it changed) and wait until healthy."""
    stack = _stack(c, env, prepare_images=True)
    if build:
        console.step(f"building {stack.variables['APP_IMAGE']}")
        stack.build_app()
    console.step("starting the stack")
    stack.start()
    console.result(f"up: {stack.env.public_url}")


@task(
    help={
        "env": "environment (default: local)",
        "volumes": "also delete the database and object volumes (destroys data)",
        "yes": "with --volumes: do not ask",
    }
)
@console.exits_cleanly
def down(c, env=LOCAL, volumes=False, yes=False):
    """Stop and remove the stack's containers (data volumes are kept unless --volumes)."""
    stack = _stack(c, env, prepare_images=False)
    if volumes:
        console.confirm(
            f"Delete every volume of project {stack.env.project}?",
            yes=yes,
            refusal="--volumes deletes all data",
        )
    stack.stop(volumes=volumes)
    console.result("stopped" + (" and deleted the data volumes" if volumes else ""))


@task(help={"env": "environment (default: local)", "json": "print JSON"})
@console.exits_cleanly
def ps(c, env=LOCAL, json=False):
    """Show the stack's services, their state and health (on a VM: its containers)."""
    if not load_config(c.config).environment(env).is_local:
        _vm_ps(c, env, json)
        return
    services = _stack(c, env, prepare_images=False).services()
    if json:
        console.emit_json([vars(service) for service in services])
        return
    if not services:
        console.say("no containers; start the stack with `inv up` or `inv setup`")
        return
    for service in services:
        console.say(
            f"{service.service:<14} {service.state:<10} {service.health:<10} {service.ports}"
        )


@task(
    help={
        "service": "one service (app, db, objectstore, nginx); all when omitted",
        "follow": "keep streaming new lines (on a VM: the current release's containers)",
        "tail": "how many lines of history to show (default 200; on a VM 0 shows all)",
        "env": "environment (default: local)",
        "since": "VM: lines from this time on: 15m, 2h, 3d or an ISO time (UTC)",
        "until": "VM: lines up to this time (same forms as --since)",
        "grep": "VM: only lines matching this extended regular expression (grep -E)",
        "request_id": "VM: only lines of this request (the app's and nginx's request_id)",
        "json": "VM: print the lines as JSON",
    }
)
@console.exits_cleanly
def logs(
    c,
    service="",
    follow=False,
    tail=200,
    env=LOCAL,
    since="",
    until="",
    grep="",
    request_id="",
    json=False,
):
    """Show container logs of the stack, or of one service; on a VM, every release's (the
    durable store: removed containers included), with filters."""
    filters = any([since, until, grep, request_id, json])
    if not load_config(c.config).environment(env).is_local:
        if follow:
            _refuse_filters(filters, "--follow streams the current release's containers")
            _vm_logs(c, env, service, follow, tail)
            return
        _durable_logs(c, env, service, tail, since, until, grep, request_id, json, filters)
        return
    _refuse_filters(filters, "the durable log store runs on VMs only (docs/monitoring.md)")
    _stack(c, env, prepare_images=False).logs(
        [service] if service else [], follow=follow, tail=tail
    )


def _refuse_filters(filters: bool, why: str) -> None:
    from shipyard.errors import ConfigError

    if filters:
        raise ConfigError(f"--since, --until, --grep, --request-id and --json: {why}")


def _durable_logs(
    c: Context,
    env: str,
    service: str,
    tail: int,
    since: str,
    until: str,
    grep: str,
    request_id: str,
    json: bool,
    filters: bool,
) -> None:
    from datetime import UTC, datetime

    from shipyard.logs.query import build_query
    from shipyard.logs.vm import NoDurableLogsError, read_vm_logs

    query = build_query(
        services=(service,) if service else (),
        since=since,
        until=until,
        grep=grep,
        request_id=request_id,
        tail=tail,
        now=datetime.now(UTC),
    )
    try:
        lines = read_vm_logs(load_config(c.config), env, query)
    except NoDurableLogsError as exc:
        if filters:
            raise
        console.warn(f"{exc.one_line()}; showing the current release's containers instead")
        _vm_logs(c, env, service, False, tail)
        return
    if json:
        console.emit_json([line.as_json() for line in lines])
        return
    if not lines:
        console.say(f"no stored log lines on {env} match")
    for line in lines:
        console.say(line.human())


def _vm_ps(c: Context, env: str, json: bool) -> None:
    from dataclasses import asdict

    from shipyard.deploy.status import vm_containers

    rows = vm_containers(load_config(c.config), env)
    if json:
        console.emit_json([asdict(row) for row in rows])
        return
    if not rows:
        console.say(f"no containers on {env}; deploy with `inv deploy --env {env}`")
    for row in rows:
        console.say(f"{row.service:<14} {row.name:<24} {row.state:<10} {row.status}")


def _vm_logs(c: Context, env: str, service: str, follow: bool, tail: int) -> None:
    from shipyard.deploy.status import show_vm_logs

    show_vm_logs(load_config(c.config), env, [service] if service else [], follow=follow, tail=tail)
