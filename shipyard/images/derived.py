"""Images built FROM an upstream image where the stack needs more than upstream has.

The stand-in for `postgres:16` carries pgBackRest (WAL archiving, point-in-time recovery);
the upstream image does not. Wherever the upstream image is chosen, the stack runs
`shipyard-derived/postgres:16-pgbackrest` instead: `images/postgres/Dockerfile.upstream`
on top of the upstream image, built here through `images/compose.yaml` (service
`postgres-pitr`) and shipped with a release like any other image. It is rebuilt when its
files or the upstream image (by id) change: the hash of both is its label
io.shipyard.context-hash.

`derivation_hash` and `plan_derivation` are pure; `derive` runs them.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from shipyard import console
from shipyard.errors import PrerequisiteError
from shipyard.images.catalog import Derivation, ThirdPartyImage
from shipyard.images.engine import PULL_TIMEOUT, Engine
from shipyard.images.standins import (
    BUILD_TIMEOUT,
    compose_build_argv,
    compose_build_env,
    is_current,
    pip_ca_file,
)


def derivation_hash(derivation: Derivation, context_files: dict[str, bytes], base_id: str) -> str:
    """A hash of the upstream image's id and the build's files (name -> contents)."""
    digest = hashlib.sha256(f"service={derivation.service}\nbase={base_id}\n".encode())
    for name in derivation.files:
        digest.update(f"{name}\0".encode())
        digest.update(hashlib.sha256(context_files[name]).digest())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class DerivationPlan:
    """One `docker compose build` of a derived image."""

    tag: str
    argv: list[str]
    env: dict[str, str]


def plan_derivation(
    derivation: Derivation,
    *,
    base_ref: str,
    context_hash: str,
    ca_file: Path,
    progress: str = "plain",
) -> DerivationPlan:
    """The command and environment that build `derivation` on top of `base_ref`
    (`ca_file`: what images/compose.yaml's `pip_ca` secret names, unused by this build)."""
    argv = compose_build_argv(derivation.service, context_hash=context_hash, progress=progress)
    env = compose_build_env(ca_file, SHIPYARD_DERIVE_FROM=base_ref)
    return DerivationPlan(derivation.tag, argv, env)


def derive(image: ThirdPartyImage, base_ref: str, *, engine: Engine) -> str:
    """The reference the stack runs for upstream `base_ref` of `image`: the derived tag,
    built first when missing or stale, or `base_ref` itself when nothing derives from it.
    PrerequisiteError (exit 2) when `base_ref` is neither here nor pullable."""
    derivation = image.derivation
    if derivation is None:
        return base_ref
    base = engine.inspect_image(base_ref)
    if base is None and engine.try_pull(base_ref, timeout=PULL_TIMEOUT):
        base = engine.inspect_image(base_ref)
    if base is None:
        raise PrerequisiteError(
            f"{base_ref} is not in the Docker engine and `docker pull` cannot fetch it",
            hint=f"load it (`docker load`), or let Shipyard use its stand-in"
            f" ({image.standin}) with SHIPYARD_IMAGE_SOURCE=auto",
        )
    files = {name: (image.context / name).read_bytes() for name in derivation.files}
    wanted = derivation_hash(derivation, files, str(base.get("Id", "")))
    if is_current(engine.image_labels(derivation.tag), wanted):
        return derivation.tag
    engine.require_compose()
    stream = sys.stdout.isatty()
    console.step(f"building {derivation.tag}: {base_ref} with {derivation.adds}")
    with pip_ca_file() as ca_file:
        plan = plan_derivation(
            derivation,
            base_ref=base_ref,
            context_hash=wanted,
            ca_file=ca_file,
            progress="auto" if stream else "plain",
        )
        engine.run(
            plan.argv,
            f"building {derivation.tag}",
            env=plan.env,
            stream=stream,
            timeout=BUILD_TIMEOUT,
        )
    return derivation.tag
