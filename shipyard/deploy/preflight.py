"""Preflight, before anything changes: the env file, the images here, and on the VM the
SSH login, Docker, Compose and free disk. Bad input is exit 2 with one line."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard import console
from shipyard.config import Environment
from shipyard.deploy.context import Target
from shipyard.deploy.plan import disk_free_argv, parse_df_kib
from shipyard.envfile.check import require_valid_env_file
from shipyard.envfile.load import read_text
from shipyard.errors import ConfigError, PrerequisiteError
from shipyard.images.engine import Engine

RUNTIME_IMAGES = ("postgres", "nginx", "objectstore")
"""Third-party images the stack runs (the python base is only built from)."""
VERSION_LABEL = "org.opencontainers.image.version"
REVISION_LABEL = "org.opencontainers.image.revision"


@dataclass(frozen=True)
class AppImage:
    """The app image to deploy, as this machine has it."""

    ref: str
    image_id: str
    version: str
    git_sha: str


def require_deployable(env: Environment) -> None:
    """ConfigError unless the environment is a VM with a deploy path."""
    if env.is_local or not env.deploy_path:
        raise ConfigError(
            f"environment {env.name} is not a VM (it needs host and deploy_path in invoke.yaml)",
            hint="`inv up` runs the local stack; deploy to sandbox, staging or production",
        )
    if env.image_delivery != "ssh":
        raise ConfigError(
            f"environment {env.name}: image_delivery {env.image_delivery!r} is not supported "
            "by `inv deploy` yet",
            hint="set image_delivery: ssh in invoke.yaml",
        )


def env_file_text(env: Environment) -> str:
    """The environment's env file, validated for it (ConfigError naming the problems)."""
    path = env.path(env.env_file)
    require_valid_env_file(path, env)
    return read_text(path)


def app_image(engine: Engine, ref: str) -> AppImage:
    """The app image here with its version and git sha labels; ConfigError when missing."""
    data = engine.inspect_image(ref)
    if data is None:
        raise ConfigError(
            f"app image {ref} is not on this machine",
            hint="build it with `inv images.build`, or pass an existing --version",
        )
    labels = (data.get("Config") or {}).get("Labels") or {}
    return AppImage(
        ref=ref,
        image_id=str(data["Id"]),
        version=labels.get(VERSION_LABEL, "unknown"),
        git_sha=labels.get(REVISION_LABEL, "unknown"),
    )


def check_vm(target: Target) -> None:
    """SSH login (exit 2 on any connection problem), Docker, Compose and free disk."""
    vm = Engine(target.runner)
    try:
        docker = vm.require_engine()
        compose = vm.require_compose()
    except PrerequisiteError as exc:
        raise PrerequisiteError(
            f"on {target.env.name}: {exc.message}",
            hint="install docker.io and the Compose v2 plugin on the VM",
        ) from None
    df = target.run(disk_free_argv(target.layout), "df on the VM")
    free_mb = parse_df_kib(df.stdout) // 1024
    if free_mb < target.env.min_free_disk_mb:
        raise PrerequisiteError(
            f"on {target.env.name}: {free_mb} MB free, {target.env.min_free_disk_mb} MB needed",
            hint="free space on the VM (`docker image prune`), or lower min_free_disk_mb",
        )
    console.done(f"{target.env.name}: Docker {docker}, Compose {compose}, {free_mb} MB free")
