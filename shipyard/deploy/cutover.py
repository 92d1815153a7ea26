"""The cut-over shared by `inv deploy` and `inv rollback`: a container of the release
beside the running one, the health gate, nginx moved to it, smoke checks, then the old
container drained and `current` switched. Any failure puts traffic back (rollback.revert)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from shipyard import console
from shipyard.checks.smoke import ExpectedVersion, run_smoke_suite
from shipyard.deploy import switch
from shipyard.deploy.gate import GateFailedError, wait_ready
from shipyard.deploy.plan import (
    APP_SERVICE,
    install_env_argv,
    mark_deployed_argv,
    switch_current_argv,
)
from shipyard.deploy.rollback import Attempt, revert
from shipyard.edge import certs
from shipyard.edge.preflight import check_edge_settings
from shipyard.edge.settings import cors_origin, trust_file
from shipyard.envfile.load import read_env_file
from shipyard.errors import CommandFailedError
from shipyard.vm.releases import ReleaseFacts
from shipyard.vm.target import Target

Prepared = TypeVar("Prepared")
"""What the cut-over's `prepare` step returns (a deploy's pre-deploy backup id)."""


class DeployFailedError(CommandFailedError):
    """The release failed a gate and traffic stayed on (or went back to) the old one (exit 1)."""


def cut_over(
    target: Target,
    facts: ReleaseFacts,
    previous: str | None,
    ready_timeout: float,
    *,
    prepare: Callable[[], Prepared] | None = None,
    existing_release: bool = False,
) -> Prepared | None:
    """Switch traffic to `facts.release` with zero downtime, or raise DeployFailedError.

    `prepare` (pre-deploy backup, migrations) runs first, inside the same undo; its result
    is returned. `existing_release` keeps the release directory on failure (a rollback
    target is not removed)."""
    running = switch.containers(target, APP_SERVICE, running_only=True)
    attempt = Attempt(
        facts.release, previous, running if previous else [], keep_release=existing_release
    )
    prepared: Prepared | None = None
    try:
        if prepare is not None:
            prepared = prepare()
        attempt.new_container = switch.start_beside(target, facts.release, running)
        seconds = wait_ready(target, attempt.new_container, ready_timeout)
        console.done(f"{attempt.new_container} is healthy and ready ({seconds:.0f} s)")
        attempt.routed = True
        reload = switch.route_to(target, facts.release, attempt.new_container)
        console.done(f"nginx routes to {attempt.new_container}")
        certificate(target, facts)
        smoke(target, facts)
    except (CommandFailedError, GateFailedError) as exc:
        raise _rolled_back(target, attempt, str(exc)) from None
    except BaseException:
        _rolled_back(target, attempt, "interrupted")
        raise
    if running:
        seconds = switch.drain(target, reload, running)
        switch.stop(target, running)
        console.done(f"drained ({seconds:.1f} s) and stopped {', '.join(running)}")
    target.run(switch_current_argv(target.layout, facts.release), "switching `current`")
    target.run(mark_deployed_argv(target.layout, facts.release), "marking the release")
    target.run(install_env_argv(target.layout, facts.release), "installing shared/.env")
    return prepared


def certificate(target: Target, facts: ReleaseFacts) -> None:
    """An https environment's certificate: issued on its first deploy (nginx already
    answers ACME challenges on port 80), or when it lacks one of the environment's names."""
    if not target.env.public_url.startswith("https://"):
        return

    path = target.env.path(target.env.env_file)
    settings = check_edge_settings(read_env_file(path), path)
    outcome = certs.ensure(target, settings, facts.images["ACME_IMAGE"])
    if not settings.bring_your_own:
        argv = certs.start_renewer_argv(target, facts.release)
        target.run(argv, "starting the certificate renewer", timeout=120)
    if outcome and outcome.info:
        left = outcome.info.days_left(datetime.now(UTC))
        console.done(f"certificate {outcome.action}: {outcome.info.issuer}, {left:.0f} days left")


def smoke(target: Target, facts: ReleaseFacts) -> None:
    """The smoke suite through the public URL, expecting the release's version and sha."""
    expected = ExpectedVersion(facts.version, facts.git_sha)
    with console.status(f"smoke checks against {target.env.public_url}"):
        run = run_smoke_suite(
            target.env.public_url,
            expected,
            burst=False,
            ca_file=trust_file(target.env),
            http_port=target.env.http_port,
            cors_origin=cors_origin(target.env),
        )
    if not run.ok:
        failed = "; ".join(f"{check.name}: {check.detail}" for check in run.failed)
        raise CommandFailedError(f"smoke checks failed: {failed or 'no check ran'}")
    console.done(f"smoke checks: {len(run.checks)} passed ({run.seconds:.0f} s)")


def _rolled_back(target: Target, attempt: Attempt, reason: str) -> DeployFailedError:
    console.warn(f"rolling back: {reason.splitlines()[0]}")
    serving, logs = revert(target, attempt)
    where = f"\nlast log lines of {attempt.new_container}:\n{logs}" if logs else ""
    return DeployFailedError(f"{attempt.release} failed: {reason}; {serving}{where}")
