"""The local stack's host port: free, already ours, or held by something else, which is
then named in one line (another checkout's stack, another container, another program)."""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

from shipyard.errors import ConfigError
from shipyard.remote import Runner

LOOPBACK = "127.0.0.1"


def url_port(url: str) -> int:
    """The port of an http(s) URL, explicit or the scheme's default."""
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def port_taken(port: int, host: str = LOOPBACK) -> bool:
    """True when something already listens on `host`:`port` (we cannot bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def publishers_argv(port: int) -> list[str]:
    """The running containers that publish `port`, with their compose project."""
    return [
        "docker",
        "ps",
        "--filter",
        f"publish={port}",
        "--format",
        '{{.Label "com.docker.compose.project"}}\t{{.Names}}',
    ]


def parse_publishers(output: str) -> list[tuple[str, str]]:
    """(compose project or "", container name) for each line of `publishers_argv`."""
    rows = []
    for line in output.splitlines():
        if line.strip():
            project, _, name = line.partition("\t")
            rows.append((project.strip(), name.strip()))
    return rows


def clash_message(port: int, project: str, holders: list[tuple[str, str]]) -> str | None:
    """None when `port` is free for `project` (nobody holds it, or its own containers
    do); else one line naming who holds it."""
    others = [(owner, name) for owner, name in holders if owner != project]
    if holders and not others:
        return None
    where = f"{LOOPBACK}:{port}"
    if not others:
        return f"{where} is taken by a program outside Docker, so the stack cannot publish it"
    owner, name = others[0]
    if owner:
        return (
            f"{where} is taken by compose project {owner} (container {name}), not by this"
            f" checkout's {project}"
        )
    return f"{where} is taken by container {name}, not by this checkout's {project}"


def require_port(runner: Runner, public_url: str, project: str) -> None:
    """ConfigError (exit 2), before anything starts, when the port of `public_url` on
    127.0.0.1 is held by anything but `project`'s own containers."""
    port = url_port(public_url)
    if not port_taken(port):
        return
    result = runner.run(publishers_argv(port), timeout=30)
    holders = parse_publishers(result.stdout) if result.ok else []
    message = clash_message(port, project, holders)
    if message is not None:
        raise ConfigError(
            message,
            hint="stop that stack (`inv down` in its checkout), or give this one another port:"
            " public_url of `local` in invoke.yaml (or INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_"
            "PUBLIC_URL) and HTTP_PORT in its env file",
        )
