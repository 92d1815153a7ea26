"""Which nginx an image runs (the TLS server's HTTP/2 syntax depends on it)."""

from __future__ import annotations

from functools import cache

from shipyard.config import PROJECT_ROOT
from shipyard.edge.nginx_conf import parse_nginx_version
from shipyard.errors import CommandFailedError
from shipyard.remote import LocalRunner


def nginx_version_argv(image: str) -> list[str]:
    """`nginx -v` in a throwaway container of `image` (it prints on stderr)."""
    return ["docker", "run", "--rm", "--network", "none", "--entrypoint", "nginx", image, "-v"]


@cache
def image_nginx_version(image: str) -> tuple[int, int, int]:
    """The nginx version of a local image, e.g. (1, 22, 1)."""
    result = LocalRunner(PROJECT_ROOT).run(nginx_version_argv(image), timeout=60)
    try:
        return parse_nginx_version(result.stdout + result.stderr)
    except ValueError:
        said = (result.stderr or result.stdout).strip()[:200]
        raise CommandFailedError(f"could not read the nginx version of {image}: {said}") from None
