"""Build the local stand-ins of third-party images (images/<key>/, images/compose.yaml).

`plan_build` is pure: the `docker compose build` argv and environment for one stand-in.
`build_standins` runs those plans, one image at a time (two cores go further that way),
after the Debian base; it skips a stand-in whose image was built from the same context
(label io.shipyard.context-hash) unless forced.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipyard import console
from shipyard.images.base import build_base
from shipyard.images.catalog import (
    ALL_IMAGES,
    BASE_TAG,
    COMPOSE_FILE,
    CONTEXT_HASH_LABEL,
    ThirdPartyImage,
    select,
)
from shipyard.images.engine import Engine

PIP_CA_VARIABLES = ("PIP_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE")
"""Where the CA bundle for pip comes from, first match wins (empty secret when none)."""

COMPOSE_PROJECT = "shipyard-images"
BUILD_TIMEOUT = 1800.0


def context_hash(context: Path, *, base_image: str = BASE_TAG) -> str:
    """A hash of a build context (paths, executable bits, contents) and its base image."""
    digest = hashlib.sha256(f"base={base_image}\n".encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts:
            continue
        relative = path.relative_to(context).as_posix()
        executable = os.access(path, os.X_OK)
        digest.update(f"{relative}\0{int(executable)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def is_current(labels: Mapping[str, str] | None, wanted_hash: str) -> bool:
    """True when an image (its labels; None when absent) was built from this context."""
    return labels is not None and labels.get(CONTEXT_HASH_LABEL) == wanted_hash


def pip_ca_source(env: Mapping[str, str] | None = None) -> Path | None:
    """The CA bundle pip should trust in builds: PIP_CA_BUNDLE, PIP_CERT or SSL_CERT_FILE."""
    env = os.environ if env is None else env
    for name in PIP_CA_VARIABLES:
        value = env.get(name)
        if value and Path(value).is_file():
            return Path(value)
    return None


@contextmanager
def pip_ca_file(env: Mapping[str, str] | None = None) -> Iterator[Path]:
    """The CA bundle for the `pip_ca` build secret, or an empty file while the build runs."""
    found = pip_ca_source(env)
    if found is not None:
        yield found.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="shipyard-pip-ca-") as tmp:
        empty = Path(tmp) / "empty-ca.pem"
        empty.write_bytes(b"")
        yield empty


@dataclass(frozen=True)
class BuildPlan:
    """One `docker compose build` of a stand-in."""

    image: ThirdPartyImage
    argv: list[str]
    env: dict[str, str]
    context_hash: str


def compose_build_argv(
    service: str,
    *,
    context_hash: str,
    no_cache: bool = False,
    progress: str = "plain",
    compose_file: Path = COMPOSE_FILE,
) -> list[str]:
    """`docker compose build` of one service of images/compose.yaml, its image labelled
    with `context_hash` (build argument SHIPYARD_CONTEXT_HASH)."""
    argv = [
        "docker",
        "compose",
        "--project-name",
        COMPOSE_PROJECT,
        "--file",
        str(compose_file),
        "--progress",
        progress,
        "build",
        "--build-arg",
        f"SHIPYARD_CONTEXT_HASH={context_hash}",
    ]
    if no_cache:
        argv.append("--no-cache")
    argv.append(service)
    return argv


def compose_build_env(ca_file: Path, **variables: str) -> dict[str, str]:
    """The environment of any `docker compose build` of images/compose.yaml: its `pip_ca`
    secret names PIP_CA_BUNDLE (required, even by builds that do not use it), BuildKit on,
    plus the service's own `variables`."""
    return {"PIP_CA_BUNDLE": str(ca_file), "DOCKER_BUILDKIT": "1", **variables}


def plan_build(
    image: ThirdPartyImage,
    *,
    context_hash: str,
    ca_file: Path,
    base_image: str = BASE_TAG,
    no_cache: bool = False,
    progress: str = "plain",
    compose_file: Path = COMPOSE_FILE,
) -> BuildPlan:
    """The command and environment that build `image`'s stand-in with BuildKit."""
    argv = compose_build_argv(
        image.key,
        context_hash=context_hash,
        no_cache=no_cache,
        progress=progress,
        compose_file=compose_file,
    )
    env = compose_build_env(ca_file, SHIPYARD_BASE_IMAGE=base_image)
    return BuildPlan(image=image, argv=argv, env=env, context_hash=context_hash)


@dataclass(frozen=True)
class StandinResult:
    """What happened to one stand-in."""

    key: str
    tag: str
    upstream: str
    action: str  # "built" or "present"
    seconds: float = 0.0
    size_bytes: int | None = None


def build_standins(
    keys: Sequence[str] | None = None,
    *,
    force: bool = False,
    no_cache: bool = False,
    mirror: str | None = None,
    engine: Engine | None = None,
    env: Mapping[str, str] | None = None,
    stream: bool | None = None,
) -> list[StandinResult]:
    """Build the stand-ins named by `keys` (all when None), skipping current ones.

    Builds the Debian base first when it is missing. `stream` shows the builder's own
    progress on the terminal (default: when stdout is one); otherwise its output is kept
    and only its tail is shown on failure.
    """
    engine = engine or Engine()
    engine.require_engine()
    engine.require_compose()
    stream = sys.stdout.isatty() if stream is None else stream
    results: list[StandinResult] = []
    todo: list[tuple[ThirdPartyImage, str]] = []
    for image in select(list(keys) if keys is not None else None):
        wanted = context_hash(image.context)
        if not force and is_current(engine.image_labels(image.standin), wanted):
            console.skipped(f"{image.standin}: already built")
            results.append(
                StandinResult(
                    image.key,
                    image.standin,
                    image.upstream,
                    "present",
                    size_bytes=engine.image_size(image.standin),
                )
            )
        else:
            todo.append((image, wanted))
    if not todo:
        return results
    build_base(mirror=mirror, engine=engine)
    with pip_ca_file(env) as ca_file:
        for number, (image, wanted) in enumerate(todo, start=1):
            plan = plan_build(
                image,
                context_hash=wanted,
                ca_file=ca_file,
                no_cache=no_cache,
                progress="auto" if stream else "plain",
            )
            console.step(
                f"[{number}/{len(todo)}] building {image.standin} (stand-in for {image.upstream})"
            )
            started = time.monotonic()
            engine.run(
                plan.argv,
                f"building {image.standin}",
                env=plan.env,
                stream=stream,
                timeout=BUILD_TIMEOUT,
            )
            seconds = time.monotonic() - started
            size = engine.image_size(image.standin)
            shown = "" if size is None else f", {size / 1e6:.0f} MB"
            console.done(f"{image.standin}: built in {seconds:.0f} s{shown}")
            results.append(
                StandinResult(image.key, image.standin, image.upstream, "built", seconds, size)
            )
    order = {image.key: index for index, image in enumerate(ALL_IMAGES)}
    return sorted(results, key=lambda result: order[result.key])
