"""Image delivery for the images whose id the VM does not already have (the app's and, on
a first deploy, the third-party ones); nothing crosses when every id is there.

With `image_delivery: registry`, through the team's registry (shipyard.deploy.registry:
push here, pull by digest on the VM). With `ssh`, layer by layer through a registry on our
127.0.0.1 and an SSH reverse tunnel when Debian's `docker-registry` is installed here
(shipyard.deploy.layers: only the layers the VM lacks cross), else `docker save` here
streamed into `docker load` on the VM, with a progress bar. Either way the VM's image ids
are compared with ours afterwards."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from shipyard import console
from shipyard.deploy import layers, registry
from shipyard.deploy.plan import docker_load_argv, docker_save_argv, image_ids_argv
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.images.engine import Engine
from shipyard.remote import LocalRunner
from shipyard.vm.target import Target


def local_ids(engine: Engine, refs: Iterable[str]) -> dict[str, str]:
    """ref -> image id here; ConfigError naming the first image that is missing."""
    ids = {}
    for ref in refs:
        data = engine.inspect_image(ref)
        if data is None:
            raise ConfigError(
                f"image {ref} is not on this machine",
                hint="build it (`inv images.build`, `inv images.standins`) or pick --version",
            )
        ids[ref] = str(data["Id"])
    return ids


def missing_on_vm(target: Target, wanted: Mapping[str, str]) -> list[str]:
    """The refs whose image id (ref -> id) the VM does not have under that ref."""
    if not wanted:
        return []
    listing = target.run(image_ids_argv(list(wanted)), "reading the VM's image ids")
    there = dict(line.partition(" ")[::2] for line in listing.stdout.splitlines())
    return [ref for ref, image_id in wanted.items() if there.get(ref, "").strip() != image_id]


def ship(
    target: Target,
    wanted: Mapping[str, str],
    engine: Engine,
    registry_login: registry.Login | None = None,
) -> list[str]:
    """Ship what the VM lacks (through the environment's registry, logging in with
    `registry_login` if given, or over SSH: layers through the local registry, or one
    `docker save | docker load`); returns the refs shipped."""
    missing = missing_on_vm(target, wanted)
    for ref in wanted:
        if ref not in missing:
            console.skipped(f"{ref}: already on the VM")
    if not missing:
        return []
    total = sum(engine.image_size(ref) or 0 for ref in missing)
    if target.env.image_delivery == "registry":
        registry.deliver(target, missing, registry_login)
        how = f"pushed to {target.env.registry}, pulled by digest"
    elif _by_layers(target, missing):
        how = "the layers the VM lacked, through the local registry"
    else:
        how = "docker save | docker load"
        _save_load(target, missing, total)
    still = missing_on_vm(target, {ref: wanted[ref] for ref in missing})
    if still:
        raise CommandFailedError(f"after shipping, the VM still lacks {', '.join(still)}")
    console.done(f"shipped {', '.join(missing)} ({total / 1e6:.0f} MB unpacked; {how})")
    return missing


def _by_layers(target: Target, missing: list[str]) -> bool:
    """Deliver through the local registry; False (with a note) when it cannot be used."""
    if not layers.usable(target):
        console.skipped(f"no {layers.REGISTRY_BINARY} here: shipping whole images")
        return False
    try:
        layers.deliver(target, missing)
    except CommandFailedError as exc:
        console.warn(
            f"layer delivery failed ({exc.message.splitlines()[0]}): shipping whole images"
        )
        return False
    return True


def _save_load(target: Target, missing: list[str], total: int) -> None:
    """One `docker save` of `missing` here streamed into `docker load` on the VM."""
    local = LocalRunner()
    with (
        _progress() as progress,
        local.stream_out(docker_save_argv(missing)) as stream,
    ):
        task = progress.add_task("shipping", total=total or None)
        chunks = _counted(stream, lambda n: progress.advance(task, n))
        result = target.runner.stream_in(docker_load_argv(), chunks)
    if not result.ok:
        raise CommandFailedError(
            f"docker load on the VM failed (exit {result.exit_code}): "
            f"{(result.stderr or result.stdout).strip()[-400:]}"
        )


def _progress() -> Progress:
    err = Console(stderr=True)
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def _counted(stream, advance) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        advance(len(chunk))
        yield chunk
