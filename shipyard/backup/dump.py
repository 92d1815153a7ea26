"""PostgreSQL inside the stack's `db` container: dump, restore, table statistics.

The argv builders are pure (unit-tested exactly); `Database` runs them through a Runner as
`docker compose exec -T db ...`, so client and server versions always match. Connections
use the container's local socket as POSTGRES_USER: no password on any command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from shipyard.compose import ComposeProject
from shipyard.errors import CommandFailedError
from shipyard.remote import CommandResult, Runner

DB_SERVICE = "db"
MAINTENANCE_DB = "postgres"
DUMP_BUFFER = "4M"

# Every user table with its exact row count and an order-independent checksum of its rows.
TABLE_STATS_SQL = """
SELECT format('%I.%I', n.nspname, c.relname) AS name,
       (xpath('/row/n/text()', query_to_xml(format(
           'SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
"""


def psql(user: str, database: str, sql: str) -> list[str]:
    """psql running one statement, stopping at the first error, unaligned output."""
    return [
        "psql",
        "--username",
        user,
        "--dbname",
        database,
        "--no-password",
        "--no-psqlrc",
        "--set",
        "ON_ERROR_STOP=1",
        "--tuples-only",
        "--no-align",
        "--field-separator",
        "\t",
        "--command",
        sql,
    ]


def pg_dump(user: str, database: str) -> list[str]:
    """pg_dump in custom format, uncompressed (zstd on the stream is faster than its gzip).

    `stdbuf` (coreutils, in every Debian-based postgres image) gives pg_dump's stdout a
    4 MiB buffer: `docker compose exec` carries large writes about twice as fast as the
    small ones pg_dump makes by itself, and stdbuf execs pg_dump, so its exit code is
    pg_dump's own.
    """
    return [
        "stdbuf",
        f"--output={DUMP_BUFFER}",
        "pg_dump",
        "--username",
        user,
        "--dbname",
        database,
        "--no-password",
        "--format=custom",
        "--compress=0",
    ]


def pg_restore(user: str, database: str) -> list[str]:
    """pg_restore from stdin; owners and grants of the source are not replayed, and the
    first error stops it with a non-zero exit."""
    return [
        "pg_restore",
        "--username",
        user,
        "--dbname",
        database,
        "--no-password",
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
    ]


def pg_restore_list() -> list[str]:
    """The dump's table of contents, read from stdin (fails on a corrupt dump)."""
    return ["pg_restore", "--list"]


def quote_ident(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """An SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def terminate_sql(database: str) -> str:
    """End every other session connected to `database`."""
    return (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"  # noqa: S608 - quoted
        f" WHERE datname = {quote_literal(database)} AND pid <> pg_backend_pid()"
    )


@dataclass
class Database:
    """The stack's PostgreSQL, reached through `docker compose exec -T db`."""

    runner: Runner
    project: ComposeProject
    variables: Mapping[str, str]
    user: str
    name: str

    def _exec(self, command: Sequence[str]) -> list[str]:
        return self.project.exec(DB_SERVICE, command)

    def sql(self, sql: str, *, database: str | None = None) -> list[list[str]]:
        """Run one statement; its rows as lists of strings."""
        argv = self._exec(psql(self.user, database or MAINTENANCE_DB, sql))
        result = self.runner.run(argv, env=self.variables, timeout=600)
        result.raise_for_status(f"psql in {DB_SERVICE}")
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    def exists(self, database: str) -> bool:
        """True when the database is there."""
        query = f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(database)}"  # noqa: S608
        rows = self.sql(query)
        return bool(rows)

    def size(self) -> int:
        """The live database's size on disk, in bytes (to choose the upload part size)."""
        return int(self.sql(f"SELECT pg_database_size({quote_literal(self.name)})")[0][0])

    def table_stats(self, database: str | None = None) -> dict[str, int]:
        """Exact row count of every user table."""
        rows = self.sql(TABLE_STATS_SQL, database=database or self.name)
        return {row[0]: int(row[1]) for row in rows}

    def terminate_connections(self, database: str) -> int:
        """End other sessions on `database`; how many there were."""
        return int(self.sql(terminate_sql(database))[0][0])

    def create(self, database: str) -> None:
        """An empty database owned by the app's role."""
        self.sql(f"CREATE DATABASE {quote_ident(database)} OWNER {quote_ident(self.user)}")

    def drop(self, database: str) -> None:
        """Drop a database if it exists, ending its sessions."""
        self.sql(f"DROP DATABASE IF EXISTS {quote_ident(database)} WITH (FORCE)")

    def rename(self, old: str, new: str) -> None:
        """Rename a database (nobody may be connected to it)."""
        self.terminate_connections(old)
        self.sql(f"ALTER DATABASE {quote_ident(old)} RENAME TO {quote_ident(new)}")

    def dump(self) -> AbstractContextManager[BinaryIO]:
        """pg_dump's output as a stream; reading it raises if pg_dump fails."""
        return self.runner.stream_out(self._exec(pg_dump(self.user, self.name)), env=self.variables)

    def restore(self, source: BinaryIO | Iterable[bytes], database: str) -> CommandResult:
        """pg_restore a custom-format stream into `database`; raises on any error."""
        argv = self._exec(pg_restore(self.user, database))
        result = self.runner.stream_in(argv, source, env=self.variables)
        return result.raise_for_status(f"pg_restore into {database}")

    def list_contents(self, source: BinaryIO | Iterable[bytes]) -> list[str]:
        """The table of contents of a dump; raises when pg_restore cannot read it."""
        result = self.runner.stream_in(self._exec(pg_restore_list()), source, env=self.variables)
        result.raise_for_status("pg_restore --list")
        entries = [line for line in result.stdout.splitlines() if line and not line.startswith(";")]
        if not entries:
            raise CommandFailedError("pg_restore --list found no entries in the dump")
        return entries


def chunks_of(reader: object, size: int = 1024 * 1024) -> Iterator[bytes]:
    """A reader as an iterator of chunks (what Runner.stream_in takes)."""
    read = reader.read  # type: ignore[attr-defined]
    while data := read(size):
        yield data
