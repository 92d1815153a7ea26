"""Preflight, before anything changes: the env file, the images here, on the VM the SSH
login, Docker, Compose and free disk, and for registry delivery the registry. Bad input is
exit 2 with one line."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx

from shipyard import console
from shipyard.config import Environment, ShipyardConfig
from shipyard.deploy import registry
from shipyard.deploy.plan import SOCKET_DIR, disk_free_argv, edge_mounts_argv, parse_df_kib
from shipyard.edge.preflight import check_edge_mounts, check_edge_settings
from shipyard.envfile.check import require_valid_env_file, require_valid_env_text
from shipyard.envfile.load import read_text
from shipyard.envfile.resolve import resolve_text
from shipyard.errors import ConfigError, PrerequisiteError
from shipyard.images.engine import Engine
from shipyard.remote.factory import runner_for
from shipyard.vm.target import Target

RUNTIME_IMAGES = ("postgres", "nginx", "objectstore", "acme")
"""Third-party images the stack runs (the python base is only built from)."""
DELIVERIES = ("ssh", "registry")
"""The image_delivery values `inv deploy` can ship with."""
REGISTRY_TIMEOUT = 10.0
VERSION_LABEL = "org.opencontainers.image.version"
REVISION_LABEL = "org.opencontainers.image.revision"
MIGRATIONS_LABEL = "shipyard.migrations.head"


@dataclass(frozen=True)
class AppImage:
    """The app image to deploy, as this machine has it."""

    ref: str
    image_id: str
    version: str
    git_sha: str
    migrations_head: str = "unknown"
    """The Alembic head(s) its migrations lead to, comma-separated (`unknown` when the
    image was built without the stamp)."""


@dataclass(frozen=True)
class EnvFile:
    """The environment's env file, validated: its text (uploaded) and its values."""

    text: str
    values: dict[str, str]


def require_deployable(env: Environment) -> None:
    """ConfigError unless the environment is a VM with a deploy path and a way to ship
    images (with `registry:` naming a registry for registry delivery)."""
    if env.is_local or not env.deploy_path:
        raise ConfigError(
            f"environment {env.name} is not a VM (it needs host and deploy_path in invoke.yaml)",
            hint="`inv up` runs the local stack; deploy to sandbox, staging or production",
        )
    if env.image_delivery not in DELIVERIES:
        raise ConfigError(
            f"environment {env.name}: image_delivery {env.image_delivery!r} cannot deploy",
            hint="set image_delivery: ssh (or registry, with registry:) in invoke.yaml",
        )
    if env.image_delivery == "registry":
        problem = "is not set" if not env.registry else registry.prefix_problem(env.registry)
        if problem:
            raise ConfigError(
                f"environment {env.name}: image_delivery is registry but registry {problem}",
                hint="set registry: to the repository prefix, e.g. "
                "registry.example.com:5000/team, in invoke.yaml (or image_delivery: ssh)",
            )


def deployable_target(config: ShipyardConfig, name: str) -> Target:
    """The VM of environment `name` (ConfigError, exit 2, for one that is not a VM)."""
    env = config.environment(name)
    require_deployable(env)
    return Target(env, runner_for(env))


def check_registry(env: Environment) -> None:
    """PrerequisiteError (one line) unless the environment's registry answers over HTTPS
    here with a certificate this machine's engine trusts (any HTTP status will do)."""
    if not env.registry:
        raise ValueError(f"environment {env.name} has no registry")
    host = registry.registry_host(env.registry)
    url = f"https://{host}/v2/"
    try:
        httpx.get(url, verify=registry.trust_context(host), timeout=REGISTRY_TIMEOUT)
    except httpx.HTTPError as exc:
        if _certificate_error(exc):
            raise PrerequisiteError(
                f"registry {host}: its TLS certificate is not trusted here ({exc})",
                hint=f"install the registry's CA as {registry.DOCKER_CERTS}/{host}/ca.crt here "
                "and on the VM, or in the system's trust store",
            ) from None
        reason = str(exc) or type(exc).__name__
        raise PrerequisiteError(
            f"registry {host} does not answer at {url} ({reason})",
            hint=f"start the registry or fix registry: of {env.name} in invoke.yaml; "
            "image_delivery: ssh needs none",
        ) from None


def _certificate_error(exc: BaseException) -> bool:
    """True when a TLS certificate check is what failed, somewhere in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def env_file(env: Environment) -> EnvFile:
    """The environment's env file, validated for it (ConfigError naming the problems), with
    its secret references resolved here (shipyard.envfile.resolve) and validated again."""
    path = env.path(env.env_file)
    require_valid_env_file(path, env)
    text = resolve_text(read_text(path), str(path))
    values = require_valid_env_text(text, path, env)
    check_edge_settings(values, path)
    return EnvFile(text, values)


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
        migrations_head=labels.get(MIGRATIONS_LABEL, "unknown"),
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
    check_edge_socket_mount(target)
    console.done(f"{target.env.name}: Docker {docker}, Compose {compose}, {free_mb} MB free")


def check_edge_socket_mount(target: Target) -> None:
    """A running nginx must mount the app sockets' volume (SOCKET_DIR): one created by a
    Shipyard from before the socket switch does not, and could not follow a switch."""
    mounts = target.run(edge_mounts_argv(target.env.project), "reading nginx's mounts")
    for line in mounts.stdout.splitlines():
        if SOCKET_DIR not in line.split():
            raise PrerequisiteError(
                f"on {target.env.name}: nginx does not mount {SOCKET_DIR}, where the app's "
                "sockets are (it was created before Shipyard switched traffic by socket)",
                hint="recreate it once with this checkout's compose files (docs/deploy.md, "
                "Limits), then deploy",
            )
    tls = target.env.public_url.startswith("https://")
    check_edge_mounts(target.env.name, mounts.stdout.splitlines(), tls)


MACHINE_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def architecture_mismatch(env_name: str, vm_machine: str, images: dict[str, str]) -> str | None:
    """One line naming the first image (ref -> Docker architecture) that the VM
    (`uname -m`) cannot run, or None when all match."""
    vm_arch = MACHINE_ARCH.get(vm_machine.strip(), vm_machine.strip())
    for ref, arch in images.items():
        if arch != vm_arch:
            return f"on {env_name}: the VM is {vm_arch} but {ref} is {arch}"
    return None


def check_architecture(target: Target, engine: Engine, refs: list[str]) -> None:
    """PrerequisiteError (one line) when an image to ship is built for another architecture
    than the VM's: an arm64 VM (Oracle's Ampere A1) needs arm64 images."""
    machine = target.run(["uname", "-m"], "uname -m on the VM").stdout
    images = {}
    for ref in refs:
        data = engine.inspect_image(ref)
        if data is not None:
            images[ref] = str(data.get("Architecture") or "unknown")
    problem = architecture_mismatch(target.env.name, machine, images)
    if problem:
        raise PrerequisiteError(
            problem,
            hint="build the app for it with `inv images.build --platform linux/"
            f"{MACHINE_ARCH.get(machine.strip(), machine.strip())}` and deploy that --version "
            "(docs/provision.md, arm64)",
        )
