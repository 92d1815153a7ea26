"""`inv rollback`: traffic back to an earlier release that is still on the VM (its release
directory has its own compose files and `.env`, its image was kept by pruning), with the
same lock, cut-over and audit line as a deploy. Default: the release before the current."""

from __future__ import annotations

import time
from dataclasses import dataclass

from shipyard import console
from shipyard.deploy import audit, lock, preflight
from shipyard.deploy.cutover import cut_over
from shipyard.deploy.plan import deployed_releases_argv, image_id_argv
from shipyard.deploy.run import after_dead_client
from shipyard.errors import CommandFailedError, ConfigError, RefusedError
from shipyard.vm import releases
from shipyard.vm.releases import ReleaseFacts
from shipyard.vm.target import Target


@dataclass(frozen=True)
class RollbackPlan:
    """From which release to which."""

    env: str
    current: str
    to: str
    version: str
    git_sha: str
    app_image: str

    def steps(self) -> list[str]:
        """One line per step."""
        return [
            f"lock, then start an app container of {self.to} ({self.version}) beside the "
            f"one of {self.current}",
            "health + /ready gate, nginx to it with a graceful reload, smoke checks "
            "(failure: traffic stays on the current release)",
            f"drain and stop the old container, point `current` at {self.to}, audit line",
        ]


@dataclass(frozen=True)
class RollbackOutcome:
    """A finished rollback."""

    release: str
    previous: str
    version: str
    seconds: float


def choose(deployed: list[str], current: str | None, to: str | None) -> str:
    """The release to go back to: `to`, or the newest finished release older than current.
    ConfigError (exit 2) when there is none or `to` is not a finished release."""
    if current is None:
        raise ConfigError("nothing was deployed here yet, so there is nothing to roll back")
    if to:
        if to == current:
            raise ConfigError(f"{to} is already the current release")
        if to not in deployed:
            raise ConfigError(
                f"no finished release {to} on the VM",
                hint="`inv releases` lists them",
            )
        return to
    older = sorted(name for name in deployed if name < current)
    if not older:
        raise ConfigError(
            f"no release before {current} is left on the VM",
            hint="`inv releases` lists them; pass --to RELEASE",
        )
    return older[-1]


def plan_rollback(target: Target, to: str | None) -> RollbackPlan:
    """Read the VM (nothing changes) and decide where to go."""
    current = releases.current_release(target)
    deployed = target.probe(deployed_releases_argv(target.layout)).stdout.split()
    chosen = choose(deployed, current, to)
    facts = _facts(target, chosen)
    assert current is not None
    return RollbackPlan(
        target.env.name, current, chosen, facts.version, facts.git_sha, facts.app_image
    )


def rollback(target: Target, planned: RollbackPlan, ready_timeout: float) -> RollbackOutcome:
    """Under the deploy lock, cut over to `planned.to`; DeployFailedError leaves the current
    release serving."""
    started = time.monotonic()
    preflight.check_vm(target)
    with lock.held(target, version=planned.version, action="rollback") as taken:
        facts = _facts(target, planned.to)
        record = dict(
            action="rollback",
            env=target.env.name,
            release=planned.to,
            version=facts.version,
            git_sha=facts.git_sha,
            who=taken.holder.owner,
            at=taken.holder.since,
        )
        after_dead_client(target, taken, record)
        if releases.current_release(target) != planned.current:
            raise RefusedError(
                f"the current release changed while planning (expected {planned.current})",
                hint="run `inv rollback` again",
            )
        if not target.probe(image_id_argv(facts.app_image)).ok:
            raise ConfigError(f"image {facts.app_image} of {planned.to} is gone from the VM")
        try:
            cut_over(target, facts, planned.current, ready_timeout, existing_release=True)
        except CommandFailedError as exc:
            seconds = round(time.monotonic() - started, 1)
            detail = exc.message.splitlines()[0][:300]
            audit.append(
                target, audit.AuditRecord(**record, result="failed", seconds=seconds, detail=detail)
            )
            raise
        seconds = round(time.monotonic() - started, 1)
        audit.append(
            target,
            audit.AuditRecord(
                **record, result="ok", seconds=seconds, detail=f"from {planned.current}"
            ),
        )
    console.done(f"{target.env.name} serves {planned.to} again")
    return RollbackOutcome(planned.to, planned.current, facts.version, seconds)


def _facts(target: Target, release: str) -> ReleaseFacts:
    facts = releases.release_facts(target, release)
    if facts is None:
        raise ConfigError(f"release {release} has no readable release.json on the VM")
    return facts
