"""Which image each compose variable names: upstream, or the local stand-in.

One switch, `shipyard.images.source` in invoke.yaml (auto | upstream | local), which
the SHIPYARD_IMAGE_SOURCE environment variable overrides:

- upstream: always the upstream references (nothing is checked or built);
- local:    always the stand-ins, built where missing;
- auto:     per image, upstream when it is present here or `docker pull` gets it,
            else the stand-in (built where missing), announced in one message.

Where upstream is chosen for an image with a derivation (postgres: pgBackRest added,
shipyard.images.derived), the derived image is what the variable names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from shipyard import console
from shipyard.errors import ConfigError
from shipyard.images.catalog import ThirdPartyImage, select
from shipyard.images.derived import derive
from shipyard.images.engine import PULL_TIMEOUT, Engine
from shipyard.images.standins import build_standins

SOURCES = ("auto", "upstream", "local")
SOURCE_ENV = "SHIPYARD_IMAGE_SOURCE"


def effective_source(configured: str | None, env: Mapping[str, str] | None = None) -> str:
    """The image source in force: SHIPYARD_IMAGE_SOURCE, else the configured one, else auto."""
    env = os.environ if env is None else env
    from_env = env.get(SOURCE_ENV, "").strip()
    value = (from_env or configured or "auto").strip().lower()
    if value not in SOURCES:
        where = SOURCE_ENV if from_env else "shipyard.images.source in invoke.yaml"
        raise ConfigError(
            f"image source {value!r} (from {where}) is not one of {', '.join(SOURCES)}",
            hint=f"set {SOURCE_ENV} or shipyard.images.source to auto, upstream or local",
        )
    return value


@dataclass(frozen=True)
class Choice:
    """The image one compose variable will name, and why."""

    image: ThirdPartyImage
    ref: str
    origin: str  # "upstream", "upstream-present", "upstream-pulled", "stand-in"

    @property
    def is_standin(self) -> bool:
        """True when the local stand-in replaces the upstream image."""
        return self.origin == "stand-in"


def plan_choices(
    source: str,
    images: Sequence[ThirdPartyImage],
    *,
    present: Callable[[str], bool],
    pull: Callable[[str], bool],
) -> list[Choice]:
    """Pick upstream or stand-in per image; `present` and `pull` are asked lazily."""
    choices = []
    for image in images:
        if source == "upstream":
            choices.append(Choice(image, image.upstream, "upstream"))
        elif source == "local":
            choices.append(Choice(image, image.standin, "stand-in"))
        elif present(image.upstream):
            choices.append(Choice(image, image.upstream, "upstream-present"))
        elif pull(image.upstream):
            choices.append(Choice(image, image.upstream, "upstream-pulled"))
        else:
            choices.append(Choice(image, image.standin, "stand-in"))
    return choices


def standin_message(choices: Sequence[Choice]) -> str | None:
    """The one message that says which images are replaced by stand-ins, if any."""
    standins = [choice for choice in choices if choice.is_standin]
    if not standins:
        return None
    pairs = ", ".join(f"{c.image.upstream} -> {c.ref}" for c in standins)
    return (
        f"no registry answered for {', '.join(c.image.upstream for c in standins)}: "
        f"using local stand-ins built from Debian packages ({pairs}); see docs/images.md "
        f"(set {SOURCE_ENV}=upstream to insist on upstream images)"
    )


def resolve_choices(
    source: str | None = None,
    *,
    keys: Sequence[str] | None = None,
    force_build: bool = False,
    engine: Engine | None = None,
    env: Mapping[str, str] | None = None,
    pull_timeout: float = PULL_TIMEOUT,
) -> list[Choice]:
    """Decide upstream or stand-in per image, build the stand-ins that are needed, and
    the derived images of the upstream ones chosen."""
    mode = effective_source(source, env)
    images = select(list(keys) if keys is not None else None)
    if mode == "upstream":
        choices = plan_choices(mode, images, present=_never, pull=_never)
    else:
        live = engine = engine or Engine()
        live.require_engine()
        choices = plan_choices(
            mode,
            images,
            present=live.image_present,
            pull=lambda ref: _pull(live, ref, pull_timeout),
        )
        needed = [choice.image.key for choice in choices if choice.is_standin]
        if mode == "auto" and needed:
            console.warn(standin_message(choices) or "")
        if needed:
            build_standins(needed, force=force_build, engine=live, env=env)
    if any(choice.image.derivation and not choice.is_standin for choice in choices):
        engine = engine or Engine()
        engine.require_engine()
        choices = [_with_derivation(choice, engine) for choice in choices]
    return choices


def resolve_images(
    source: str | None = None,
    *,
    keys: Sequence[str] | None = None,
    force_build: bool = False,
    engine: Engine | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Compose variable -> image reference (e.g. POSTGRES_IMAGE -> postgres:16).

    `source` is the configured `shipyard.images.source`; SHIPYARD_IMAGE_SOURCE overrides
    it. Builds the stand-ins it picks when they are missing. Raises ConfigError for an
    unknown source and PrerequisiteError (exit 2) when the engine is down or a tool to
    build a stand-in (debootstrap, Compose v2) is missing.
    """
    choices = resolve_choices(source, keys=keys, force_build=force_build, engine=engine, env=env)
    return {choice.image.variable: choice.ref for choice in choices}


def current_images(
    source: str | None = None,
    *,
    engine: Engine | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Like `resolve_images`, but only looks: nothing is pulled or built.

    For tasks that inspect or stop a running stack (`ps`, `logs`, `down`): in `auto`, an
    image is upstream when present here, else the stand-in when that is present.
    """
    mode = effective_source(source, env)
    images = select(None)
    if mode == "upstream":
        return {image.variable: runs_for_upstream(image) for image in images}
    engine = engine or Engine()
    engine.require_engine()
    chosen = {}
    for image in images:
        use_standin = mode == "local" or (
            not engine.image_present(image.upstream) and engine.image_present(image.standin)
        )
        chosen[image.variable] = image.standin if use_standin else runs_for_upstream(image)
    return chosen


def runs_for_upstream(image: ThirdPartyImage) -> str:
    """What the stack runs when `image`'s upstream is chosen: its derived image, if any."""
    return image.derivation.tag if image.derivation else image.upstream


def _with_derivation(choice: Choice, engine: Engine) -> Choice:
    if choice.is_standin:
        return choice
    return replace(choice, ref=derive(choice.image, choice.ref, engine=engine))


def _never(_ref: str) -> bool:
    return False


def _pull(engine: Engine, ref: str, timeout: float) -> bool:
    with console.status(f"pulling {ref}"):
        return engine.try_pull(ref, timeout=timeout)
