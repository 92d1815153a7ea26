"""Images: the app image, and local stand-ins for third-party images where no registry answers."""

from __future__ import annotations

from invoke import Context, task

from shipyard import console
from shipyard.config import load_config


@task(
    help={
        "env": "environment whose compose files and env file to use (default: local)",
        "platform": "build for linux/arm64 (QEMU emulation; tag ends -arm64) or linux/amd64",
    }
)
@console.exits_cleanly
def build(c: Context, env: str = "local", platform: str = "") -> None:
    """Build the app image (multi-stage Dockerfile, through Compose and BuildKit)."""
    from shipyard.images import foreign
    from shipyard.images.resolve import resolve_images
    from shipyard.stack import open_stack

    wanted = foreign.platform_named(platform) if platform else foreign.this_machine()
    config = load_config(c.config)
    stack = open_stack(
        config.environment(env), config.app_name, resolve_images(config.images.source)
    )
    if wanted != foreign.this_machine():
        from shipyard.images.engine import Engine

        ref = foreign.build_app_for(stack, wanted, Engine())
        console.result(f"built {ref} for {wanted.name}")
        return
    console.step(f"building {stack.variables['APP_IMAGE']}")
    stack.build_app()
    console.result(f"built {stack.variables['APP_IMAGE']} ({stack.image_id()})")


@task(
    help={
        "only": "one stand-in (python, postgres, nginx, objectstore); all when omitted",
        "force": "rebuild even when the stand-in is current",
    }
)
@console.exits_cleanly
def standins(c: Context, only: str = "", force: bool = False) -> None:
    """Build local stand-ins (from Debian packages) for the third-party images."""
    from shipyard.images.standins import build_standins

    results = build_standins([only] if only else None, force=force)
    for result in results:
        console.result(f"{result.tag} ({result.upstream}): {result.action}")
