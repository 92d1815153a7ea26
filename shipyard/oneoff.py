"""One-off containers that run a shell script with no network (argv builders, pure)."""

from __future__ import annotations

from collections.abc import Sequence


def offline_sh_argv(
    image: str,
    script: str,
    args: Sequence[str] = (),
    *,
    volumes: Sequence[str] = (),
    user: str | None = None,
    interactive: bool = False,
) -> list[str]:
    """`docker run --rm --network none` of `image` running `sh -c script` with `volumes`
    (`HOST:CONTAINER[:ro]`) mounted; `args` become the script's "$1"... (with "sh" as $0).
    `interactive` keeps standard input open (`-i`): how a script is handed secrets."""
    argv = ["docker", "run", "--rm", "--network", "none"]
    if interactive:
        argv.append("--interactive")
    if user is not None:
        argv += ["--user", user]
    argv += ["--entrypoint", "sh"]
    for volume in volumes:
        argv += ["--volume", volume]
    argv += [image, "-c", script]
    return [*argv, "sh", *args] if args else argv
