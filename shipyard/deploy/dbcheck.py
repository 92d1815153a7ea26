"""Before any app container of a release starts: the release's database credentials must
open the running database. A wrong password is refused with PostgreSQL's reason, instead
of a new container whose /ready fails until the gate's timeout."""

from __future__ import annotations

from collections.abc import Mapping

from shipyard import dblogin
from shipyard.errors import CommandFailedError
from shipyard.vm.target import Target


class DatabaseLoginRefusedError(CommandFailedError):
    """The release's POSTGRES_USER / POSTGRES_PASSWORD do not open the database."""


def login_argv(container: str, user: str, database: str) -> list[str]:
    """`docker exec -i` of the login check in the database container (stdin: password)."""
    return ["docker", "exec", "-i", container, *dblogin.login_command(user, database)]


def require_login(target: Target, container: str, values: Mapping[str, str]) -> None:
    """DatabaseLoginRefusedError naming the env file and PostgreSQL's reason unless the
    release's credentials open the database in `container`."""
    argv = login_argv(container, values["POSTGRES_USER"], values["POSTGRES_DB"])
    result = target.runner.run(argv, stdin=values["POSTGRES_PASSWORD"].encode(), timeout=60)
    login = dblogin.judge(result.exit_code, result.stdout, result.stderr)
    if login.verdict is dblogin.Verdict.OPENS:
        return
    env_file = target.env.env_file
    if login.verdict is dblogin.Verdict.WRONG_PASSWORD:
        raise DatabaseLoginRefusedError(
            f"refused before any app container started: POSTGRES_PASSWORD (or POSTGRES_USER)"
            f" in {env_file} does not open the database on {target.env.name} ({login.reason})",
            hint="put back the password the database has, or change it with"
            f" `inv secrets.rotate --env {target.env.name} --name POSTGRES_PASSWORD`",
        )
    raise DatabaseLoginRefusedError(
        f"refused before any app container started: the database on {target.env.name}"
        f" does not accept the credentials in {env_file} ({login.reason})"
    )
