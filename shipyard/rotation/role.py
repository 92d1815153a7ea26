"""The database side of a password rotation: the `ALTER ROLE` statement and command, how
psql's answer is judged, and the interface of a place whose password is rotated (the local
stack or a VM: shipyard.rotation.targets)."""

from __future__ import annotations

from collections.abc import Mapping

from shipyard import masking
from shipyard.errors import CommandFailedError


def alter_role_sql(user: str, password: str) -> str:
    """`ALTER ROLE "user" WITH PASSWORD '...'`, identifiers and literal quoted."""
    role = '"' + user.replace('"', '""') + '"'
    literal = "'" + password.replace("'", "''") + "'"
    return f"ALTER ROLE {role} WITH PASSWORD {literal};\n"


def alter_role_command(user: str, database: str) -> list[str]:
    """psql in the database container over its unix socket, reading SQL on stdin."""
    return [
        "psql",
        "--username",
        user,
        "--dbname",
        database,
        "--no-password",
        "--no-psqlrc",
        "--quiet",
        "--set",
        "ON_ERROR_STOP=1",
    ]


class Database:
    """Where a rotation changes the password and how the app moves onto it."""

    def require_login(self, values: Mapping[str, str]) -> None:
        """Raise unless the env file's current credentials open the database."""
        raise NotImplementedError

    def alter_role(self, values: Mapping[str, str], password: str) -> None:
        """Give the role `password` (CommandFailedError when the database refuses)."""
        raise NotImplementedError

    def roll_app(self) -> str | None:
        """Move the app onto the env file as it is now; the release it runs, if any."""
        raise NotImplementedError


def judge_alter(exit_code: int, stderr: str) -> None:
    """CommandFailedError with psql's own words unless ALTER ROLE succeeded."""
    if exit_code != 0:
        reason = (stderr.strip().splitlines() or [f"psql exited {exit_code}"])[-1]
        raise CommandFailedError(f"ALTER ROLE failed: {masking.mask(reason)}")
