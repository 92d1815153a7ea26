"""The app image for another CPU architecture (linux/arm64, Oracle's Ampere A1 shape) built
on this amd64 machine with QEMU user emulation; Docker's buildx plugin is not packaged in
Debian bookworm. What works here (docs/provision.md, "arm64"):

1. Debian's `qemu-user-static` registers binfmt handlers with the F flag, so arm64 binaries
   run anywhere on this kernel, containers included (`update-binfmts --enable`).
2. `debootstrap --arch=arm64` makes an arm64 rootfs (its second stage runs emulated), which
   `docker import` turns into an image, as for the amd64 base (shipyard.images.base).
3. Docker 20.10 ignores `docker import --platform` (it is experimental there): the image
   says amd64. A `docker save` / edit config / `docker load` round trip labels it arm64.
4. BuildKit through Compose builds the python stand-in and then the app FROM it, from
   build-only compose files whose service has `platform: linux/arm64`; every RUN step runs
   emulated.

The arm64 images get their own tags (`...-arm64`): one tag holds one architecture here.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from shipyard import console
from shipyard.config import PROJECT_ROOT
from shipyard.errors import ConfigError, PrerequisiteError
from shipyard.images.base import (
    SUITE,
    apply_rootfs_changes,
    choose_mirror,
    host_sources,
    plan_base,
)
from shipyard.images.catalog import BASE_TAG
from shipyard.images.engine import Engine, pipe
from shipyard.images.standins import context_hash, is_current
from shipyard.stack import LocalStack

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


@dataclass(frozen=True)
class Platform:
    """A target platform: Docker's name for it and the kernel's (`uname -m`)."""

    name: str
    arch: str
    variant: str
    machine: str

    @property
    def suffix(self) -> str:
        """The tag suffix of images built for it, e.g. `-arm64`."""
        return f"-{self.arch}"


PLATFORMS = {
    "linux/amd64": Platform("linux/amd64", "amd64", "", "x86_64"),
    "linux/arm64": Platform("linux/arm64", "arm64", "v8", "aarch64"),
}
MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def platform_named(name: str) -> Platform:
    """The platform `name` (linux/amd64 or linux/arm64), or ConfigError listing them."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise ConfigError(
            f"unknown platform {name!r}", hint=f"one of: {', '.join(sorted(PLATFORMS))}"
        ) from None


def docker_arch(machine: str) -> str:
    """Docker's architecture name for a `uname -m` (unknown names are returned as they are)."""
    return MACHINES.get(machine.strip(), machine.strip())


def this_machine() -> Platform:
    """The platform of this machine."""
    arch = docker_arch(os.uname().machine)
    return PLATFORMS.get(f"linux/{arch}", Platform(f"linux/{arch}", arch, "", os.uname().machine))


def require_emulation(platform: Platform, binfmt_dir: Path = BINFMT_DIR) -> None:
    """PrerequisiteError unless the kernel runs `platform`'s binaries (binfmt + QEMU)."""
    handler = binfmt_dir / f"qemu-{platform.machine}"
    try:
        enabled = handler.read_text(encoding="utf-8").splitlines()[0] == "enabled"
    except (OSError, IndexError):
        enabled = False
    if not enabled:
        raise PrerequisiteError(
            f"this machine cannot run {platform.name} binaries ({handler} is not enabled)",
            hint="apt-get install qemu-user-static binfmt-support && "
            f"update-binfmts --enable qemu-{platform.machine} (./scripts/bootstrap does it)",
        )


def relabel(image_dir: Path, platform: Platform, tag: str) -> None:
    """Rewrite an unpacked `docker save` archive so its image says `platform` and `tag`."""
    manifest_path = image_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    old = image_dir / manifest[0]["Config"]
    config = json.loads(old.read_text(encoding="utf-8"))
    config["architecture"] = platform.arch
    if platform.variant:
        config["variant"] = platform.variant
    data = json.dumps(config, separators=(",", ":")).encode()
    name = f"{hashlib.sha256(data).hexdigest()}.json"
    old.unlink()
    (image_dir / name).write_bytes(data)
    manifest[0]["Config"] = name
    manifest[0]["RepoTags"] = [tag]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    (image_dir / "repositories").unlink(missing_ok=True)


def relabel_image(engine: Engine, source: str, platform: Platform, tag: str) -> None:
    """`tag`: the image `source` labelled as `platform` (docker save / edit / docker load)."""
    with tempfile.TemporaryDirectory(prefix="shipyard-relabel-") as tmp:
        unpacked = Path(tmp)
        pipe(["docker", "save", source], ["tar", "-C", tmp, "-x"], what=f"saving {source}")
        relabel(unpacked, platform, tag)
        pipe(["tar", "-C", tmp, "-c", "."], ["docker", "load", "--quiet"], what=f"loading {tag}")


def base_tag(platform: Platform) -> str:
    """The Debian base image of `platform`."""
    return f"{BASE_TAG}{platform.suffix}"


def build_base_for(platform: Platform, engine: Engine) -> str:
    """The Debian base for `platform` (debootstrap --arch, import, relabel) unless present."""
    tag = base_tag(platform)
    if engine.image_present(tag):
        console.skipped(f"{tag}: already built")
        return tag
    require_emulation(platform)
    sources = host_sources()
    mirror = choose_mirror(None, sources)
    with tempfile.TemporaryDirectory(prefix="shipyard-rootfs-") as tmp:
        plan = plan_base(Path(tmp) / "rootfs", mirror, sources=sources, tag=f"{tag}-unlabelled")
        plan = replace(
            plan,
            debootstrap=[plan.debootstrap[0], f"--arch={platform.arch}", *plan.debootstrap[1:]],
        )
        with console.status(f"debootstrap {SUITE} {platform.arch} (emulated second stage)"):
            engine.run(plan.debootstrap, f"debootstrap {platform.arch}", timeout=3600)
        apply_rootfs_changes(plan)
        pipe(plan.tar, plan.docker_import, what=f"importing {tag}")
    relabel_image(engine, f"{tag}-unlabelled", platform, tag)
    engine.run(["docker", "image", "rm", f"{tag}-unlabelled"], "removing the unlabelled base")
    console.done(f"{tag}: built")
    return tag


def python_tag(platform: Platform) -> str:
    """The python stand-in of `platform`."""
    return f"shipyard-local/python:3.11{platform.suffix}"


def python_compose(platform: Platform, base: str, wanted_hash: str) -> str:
    """A build-only compose file for the python stand-in of `platform` (its own tag, so the
    amd64 one in images/compose.yaml stays as it is)."""
    context = PROJECT_ROOT / "images" / "python"
    service = {
        "image": python_tag(platform),
        "platform": platform.name,
        "build": {
            "context": str(context),
            "platforms": [platform.name],
            "args": {"BASE_IMAGE": base, "SHIPYARD_CONTEXT_HASH": wanted_hash},
        },
    }
    return json.dumps(
        {"name": f"shipyard-python{platform.suffix}", "services": {"python": service}}
    )


def build_python_for(platform: Platform, engine: Engine) -> str:
    """The python stand-in for `platform`, FROM its base, unless built from this context."""
    tag = python_tag(platform)
    base = build_base_for(platform, engine)
    wanted = context_hash(PROJECT_ROOT / "images" / "python", base_image=base)
    if is_current(engine.image_labels(tag), wanted):
        console.skipped(f"{tag}: already built")
        return tag
    with tempfile.TemporaryDirectory(prefix="shipyard-python-") as tmp:
        compose_file = Path(tmp) / "compose.json"
        compose_file.write_text(python_compose(platform, base, wanted), encoding="utf-8")
        argv = ["docker", "compose", "--file", str(compose_file), "--progress", "plain"]
        with console.status(f"building {tag} (emulated)"):
            engine.run(
                [*argv, "build", "python"],
                f"building {tag}",
                env={"DOCKER_BUILDKIT": "1"},
                timeout=3600,
            )
    console.done(f"{tag}: built")
    return tag


def app_compose(platform: Platform, ref: str, args: dict[str, str], ca_file: str) -> str:
    """A build-only compose file for the app image of `platform`: the build of
    compose/compose.yaml (context, args, the pip_ca secret) without its runtime part, which
    needs an env file."""
    service = {
        "image": ref,
        "platform": platform.name,
        "build": {
            "context": str(PROJECT_ROOT / "app"),
            "platforms": [platform.name],
            "args": args,
            "secrets": ["pip_ca"],
        },
    }
    document = {
        "name": f"shipyard-app{platform.suffix}",
        "services": {"app": service},
        "secrets": {"pip_ca": {"file": ca_file}},
    }
    return json.dumps(document)


def build_app_for(stack: LocalStack, platform: Platform, engine: Engine) -> str:
    """The app image of `stack`'s checkout built for `platform`; returns its ref (`...-arm64`)."""
    require_emulation(platform)
    python = build_python_for(platform, engine)
    variables = stack.variables
    ref = f"{variables['APP_IMAGE']}{platform.suffix}"
    args = {
        key: value
        for key, value in stack.build_info.compose_variables(stack.app_name).items()
        if key != "APP_IMAGE"
    }
    args["PYTHON_IMAGE"] = python
    document = app_compose(platform, ref, args, variables["PIP_CA_BUNDLE"])
    with tempfile.TemporaryDirectory(prefix="shipyard-app-") as tmp:
        compose_file = Path(tmp) / "compose.json"
        compose_file.write_text(document, encoding="utf-8")
        argv = ["docker", "compose", "--file", str(compose_file), "--progress", "plain"]
        with console.status(f"building {ref} for {platform.name} (emulated)"):
            engine.runner.run(
                [*argv, "build", "app"],
                env={"DOCKER_BUILDKIT": "1"},
                capture=False,
                stdout_to_stderr=True,
                timeout=5400,
            ).raise_for_status(f"building {ref}")
    return ref
