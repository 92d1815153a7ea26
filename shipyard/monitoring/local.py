"""`inv monitoring.up`: the monitoring profile beside the running local stack. Renders the
configuration from the env file, picks the images (upstream, or the Debian-built stand-ins
where no registry answers; Grafana has none and is then left out with a warning), and
starts the profile's services, waiting until they are healthy. On a VM it (re)starts the
profile from the current release instead (shipyard.monitoring.vm)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shipyard.config import Environment, ShipyardConfig
from shipyard.deploy import lock
from shipyard.deploy.orchestration import opened
from shipyard.envfile.load import read_env_file
from shipyard.errors import ConfigError
from shipyard.images.resolve import resolve_choices, resolve_images
from shipyard.monitoring import vm
from shipyard.monitoring.profile import (
    GRAFANA,
    IMAGE_KEYS,
    SERVICES,
    compose_variables,
    config_dir,
    monitoring_project,
    render_files,
)
from shipyard.remote.factory import runner_for
from shipyard.stack import open_stack
from shipyard.vm.releases import current_release
from shipyard.vm.target import Target

Say = Callable[[str], None]


@dataclass
class ProfileReport:
    """What `monitoring.up` started, and what it left out and why."""

    services: list[str]
    config_files: list[str]
    left_out: dict[str, str] = field(default_factory=dict)


def start_profile(config: ShipyardConfig, name: str, step: Say, warn: Say) -> ProfileReport:
    """Render, pick images, start the profile's services; the local stack must be up. On a
    VM: start it from the current release (deployed with MONITORING on)."""
    env = config.environment(name)
    if not env.is_local:
        return start_on_vm(config, env, step)
    values = read_env_file(env.path(env.env_file))
    step("choosing images for the monitoring profile")
    base_images = resolve_images(config.images.source)
    choices = resolve_choices(config.images.source, keys=list(IMAGE_KEYS))
    images = {choice.image.variable: choice.ref for choice in choices}
    services = list(SERVICES)
    left_out = {}
    if any(choice.is_standin for choice in choices):
        left_out[GRAFANA] = "no registry answered and Grafana has no stand-in (docs/images.md)"
    elif not values.get("GRAFANA_ADMIN_PASSWORD"):
        left_out[GRAFANA] = f"GRAFANA_ADMIN_PASSWORD is not set in {env.env_file}"
    else:
        services.append(GRAFANA)
    for service, reason in left_out.items():
        warn(f"{service} left out: {reason}")
    step("rendering prometheus.yml and alertmanager.yml")
    directory = config_dir(env)
    files = render_files(env, values, directory)
    textfile = env.path(config.backup.metrics_dir)
    textfile.mkdir(parents=True, exist_ok=True)
    stack = open_stack(env, config.app_name, base_images)
    variables = {**stack.variables, **compose_variables(directory, textfile, images)}
    step(f"starting {', '.join(services)}")
    project = monitoring_project(env)
    stack.runner.run(project.up(services), env=variables, timeout=600).raise_for_status(
        "starting the monitoring profile"
    )
    return ProfileReport(services, [str(path) for path in files], left_out)


def start_on_vm(config: ShipyardConfig, env: Environment, step: Say) -> ProfileReport:
    """(Re)start the profile on `env`'s VM from its current release, under the deploy lock
    (a deploy in progress is not raced)."""
    with opened(Target(env, runner_for(env))) as target:
        release = current_release(target)
        if release is None:
            raise ConfigError(
                f"nothing is deployed to {env.name} yet",
                hint=f"`inv deploy --env {env.name}` starts the profile with the release",
            )
        textfile = vm.textfile_dir(env, config.backup.metrics_dir)
        with lock.held(target, version="monitoring", action="monitoring.up"):
            step(f"starting the monitoring profile of release {release}")
            started = vm.start(target, release, textfile)
    return ProfileReport(started, [vm.RENDERED_DIR])
