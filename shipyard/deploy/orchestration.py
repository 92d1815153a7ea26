"""The orchestration of `inv deploy` and `inv rollback`: from an environment name and
options to a plan, its confirmation, and a finished (or refused) deploy or rollback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from shipyard import console
from shipyard.config import PROJECT_ROOT, Environment, ShipyardConfig
from shipyard.deploy import hooks, predeploy_backup, preflight
from shipyard.deploy.lock import whoami
from shipyard.deploy.manual_rollback import (
    RollbackOutcome,
    RollbackPlan,
    plan_rollback,
    rollback,
)
from shipyard.deploy.plan import DeployPlan
from shipyard.deploy.run import DeployOutcome, DeployRequest, deploy
from shipyard.images.app import read_build_info
from shipyard.images.engine import Engine
from shipyard.images.resolve import resolve_choices, resolve_images
from shipyard.monitoring import vm as monitoring
from shipyard.monitoring.profile import IMAGE_KEYS
from shipyard.remote import LocalRunner
from shipyard.remote.factory import runner_for
from shipyard.stack import open_stack
from shipyard.vm.layout import release_id
from shipyard.vm.releases import current_release
from shipyard.vm.target import Target


def app_image_ref(config: ShipyardConfig, version: str | None) -> str:
    """`--version 0.2.0-abc` -> `docstore-app:0.2.0-abc` (a full `name:tag` is kept);
    without it, the image of the current checkout."""
    if version:
        return version if ":" in version else f"{config.app_name}-app:{version}"
    build = read_build_info(PROJECT_ROOT, LocalRunner(PROJECT_ROOT))
    return build.image_ref(config.app_name)


def confirm(env: Environment, plan: DeployPlan, yes: bool) -> None:
    """Environments that require approval go on only with --yes or a typed `yes`."""
    require_approval(env, yes, plan_lines(plan), f"Deploy {plan.release} to {env.name}?")


def require_approval(env: Environment, yes: bool, lines: list[str], question: str) -> None:
    """Go on when `env` needs no approval or --yes was given; else show `lines` and ask on
    the terminal (RefusedError, exit 3, without one or without a typed `yes`)."""
    if not env.requires_approval:
        return
    console.confirm(question, yes=yes, refusal=f"{env.name} requires approval", details=lines)


def plan_lines(plan: DeployPlan | RollbackPlan) -> list[str]:
    """The plan, a header then one numbered step a line."""
    if isinstance(plan, RollbackPlan):
        header = f"Roll back {plan.env} from {plan.current} to {plan.to}:"
    else:
        header = f"Deploy {plan.app_image} to {plan.env} ({plan.host}) as {plan.release}:"
    return [header] + [f"  {n}. {step}" for n, step in enumerate(plan.steps(), start=1)]


@contextmanager
def opened(target: Target) -> Iterator[Target]:
    """`target` for the block; its SSH connection is closed afterwards."""
    try:
        yield target
    finally:
        target.runner.close()


def show_dry_run(lines: list[str]) -> None:
    """Print a plan's lines and that nothing was changed (--dry-run)."""
    for line in lines:
        console.say(line)
    console.result("dry run: nothing was changed")


def approved(
    env: Environment, lines: list[str], question: str, *, yes: bool, dry_run: bool
) -> bool:
    """False once `lines` are shown for --dry-run; else True when require_approval lets the
    change go on (it raises RefusedError when it does not)."""
    if dry_run:
        show_dry_run(lines)
        return False
    require_approval(env, yes, lines, question)
    return True


def _dry_run(plan: DeployPlan | RollbackPlan) -> None:
    show_dry_run(plan_lines(plan))


def run_rollback(
    config: ShipyardConfig,
    name: str,
    *,
    to: str | None,
    dry_run: bool,
    yes: bool,
    ready_timeout: float,
) -> RollbackOutcome | None:
    """Plan (read-only), show or confirm, then roll back (None for --dry-run)."""
    env = config.environment(name)
    preflight.require_deployable(env)
    with opened(Target(env, runner_for(env))) as target:
        planned = plan_rollback(target, to)
        if dry_run:
            _dry_run(planned)
            return None
        require_approval(env, yes, plan_lines(planned), f"Roll back {env.name} to {planned.to}?")
        outcome = rollback(target, planned, ready_timeout)
    facts = hook_facts(
        env,
        "rollback",
        planned.to,
        planned.current,
        planned.version,
        planned.git_sha,
        planned.app_image,
    )
    hooks.run("post-rollback", facts)
    return outcome


def run_deploy(
    config: ShipyardConfig,
    name: str,
    *,
    version: str | None,
    dry_run: bool,
    yes: bool,
    ready_timeout: float,
    backup: bool | None = None,
) -> DeployOutcome | None:
    """Check the input, show or confirm the plan, then deploy (None for --dry-run).

    `backup`: take the pre-deploy backup (True), skip it (False), or follow the
    environment's setting (None)."""
    env = config.environment(name)
    preflight.require_deployable(env)
    env_file = preflight.env_file(env)
    backs_up = predeploy_backup.wanted(env, backup)
    if backs_up:
        predeploy_backup.check_store(env, env_file.values)
    ref = app_image_ref(config, version)
    images = {}
    profile = None
    watched = monitoring.enabled(env.name, env_file.values)
    engine = Engine(LocalRunner(PROJECT_ROOT))
    if not dry_run:
        if env.image_delivery == "registry":
            preflight.check_registry(env)
        images = resolve_images(config.images.source, keys=preflight.RUNTIME_IMAGES)
        if version is None and not engine.image_present(ref):
            _build_app(config, env, images)
        if watched:
            profile = monitoring_plan(config, env, env_file.values, images)
    target = Target(env, runner_for(env))
    release = release_id(datetime.now(UTC), ref.rpartition(":")[2])
    plan = DeployPlan(
        env=env.name,
        host=f"{env.user or ''}@{env.host}:{env.port or 22}".lstrip("@"),
        release=release,
        app_image=ref,
        layout=target.layout,
        ship_images=(ref, *images.values()) if images else (ref, "postgres, nginx, objectstore"),
        backup=backs_up,
        monitoring=watched,
    )
    if dry_run:
        _dry_run(plan)
        return None
    confirm(env, plan, yes)
    app = preflight.app_image(engine, ref)
    request = DeployRequest(
        release,
        app,
        images,
        env_file,
        ready_timeout,
        config.backup if backs_up else None,
        profile,
    )
    with opened(target):
        previous = current_release(target) or ""
        facts = hook_facts(env, "deploy", release, previous, app.version, app.git_sha, ref)
        hooks.run("pre-deploy", facts)
        outcome = deploy(target, request, engine)
    hooks.run("post-deploy", facts)
    return outcome


def monitoring_plan(
    config: ShipyardConfig, env: Environment, values: dict[str, str], images: dict[str, str]
) -> monitoring.Plan:
    """The profile's images added to `images` (shipped with the release), and what starts."""
    choices = resolve_choices(config.images.source, keys=list(IMAGE_KEYS))
    images.update({choice.image.variable: choice.ref for choice in choices})
    standins = any(choice.is_standin for choice in choices)
    started, left_out = monitoring.services(standins, values)
    textfile = monitoring.textfile_dir(env, config.backup.metrics_dir)
    return monitoring.Plan(started, left_out, textfile)


def hook_facts(
    env: Environment,
    action: str,
    release: str,
    previous: str,
    version: str,
    git_sha: str,
    app_image: str,
) -> hooks.HookFacts:
    """What the hooks of `action` learn about the release (never a secret)."""
    return hooks.HookFacts(
        action=action,
        env=env.name,
        release=release,
        version=version,
        git_sha=git_sha,
        previous_release=previous,
        app_image=app_image,
        host=env.host or "",
        public_url=env.public_url or "",
        who=whoami(),
    )


def _build_app(config: ShipyardConfig, env: Environment, images: dict[str, str]) -> None:
    build_images = {**images, **resolve_images(config.images.source, keys=["python"])}
    stack = open_stack(env, config.app_name, build_images)
    console.step(f"building {stack.variables['APP_IMAGE']}")
    stack.build_app()
