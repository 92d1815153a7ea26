"""Does an env file's database password open the database? Asked before any app container
starts, so a wrong credential is one line instead of a traceback or a gate timeout.

psql runs inside the database container and connects over TCP to the container's own
address (initdb trusts the unix socket and the loopback address: only the network rule,
`host all all all scram-sha-256`, checks a password); the password comes on standard
input, so it is in no command line and no file. Pure builders and a verdict; the callers
run the command here (`inv setup`, `inv up`) or on the VM (`inv deploy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

LOGIN_SCRIPT = (
    'PGPASSWORD="$(cat)" exec psql --host "$(cat /etc/hostname)" --username "$1" --dbname "$2" '
    '--no-password --no-psqlrc --tuples-only --no-align --command "SELECT 1"'
)
"""sh run in the database container: log in as $1 to database $2 with the password read
from standard input (in psql's environment only); prints 1 when it opens."""


class Verdict(StrEnum):
    """What the login attempt says about the env file's credentials."""

    OPENS = "opens"
    WRONG_PASSWORD = "wrong password"  # noqa: S105 - a verdict, not a password
    NO_DATABASE = "no database"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LoginResult:
    """The verdict, and PostgreSQL's own words when it refused."""

    verdict: Verdict
    reason: str = ""


def login_command(user: str, database: str) -> list[str]:
    """The command to run inside the database container (stdin: the password)."""
    return ["sh", "-c", LOGIN_SCRIPT, "sh", user, database]


def judge(exit_code: int, stdout: str, stderr: str) -> LoginResult:
    """The verdict of one run of `login_command`. PostgreSQL answers "password
    authentication failed" for a wrong password and for a role that does not exist alike."""
    if exit_code == 0 and stdout.strip() == "1":
        return LoginResult(Verdict.OPENS)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if "FATAL" in line), lines[-1] if lines else "")
    reason = reason.split("FATAL:", 1)[-1].strip()
    if "password authentication failed" in stderr:
        return LoginResult(Verdict.WRONG_PASSWORD, reason)
    if "database" in stderr and "does not exist" in stderr:
        return LoginResult(Verdict.NO_DATABASE, reason)
    return LoginResult(Verdict.UNKNOWN, reason or f"psql exited {exit_code}")
