"""Rows seeded at revisions of a history, and what they must look like at head.

A plan is a YAML file:

    seed:                      # right after upgrading to a revision, insert these rows
      0001_create_documents:
        documents:
          - {id: 1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b, title: report, ...}
    expect:                    # after upgrading to head, these rows must read so
      documents:
        key: id
        rows:
          - {id: 1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b, object_key: documents/1b4e..., ...}

Values are written as PostgreSQL literals (strings, numbers, null) and PostgreSQL casts
them to each column's type, so a plan needs no Python types. Comparisons use
`IS NOT DISTINCT FROM`, so `null` means "must be NULL".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, text

from shipyard.errors import ConfigError

_IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Seed:
    """Rows inserted into `table` right after upgrading to `revision`."""

    revision: str
    table: str
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Expectation:
    """Rows of `table`, found by `key`, that must hold these values at head."""

    table: str
    key: str
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class DataPlan:
    """Seeds by revision and the expected state at head."""

    seeds: tuple[Seed, ...]
    expectations: tuple[Expectation, ...]

    def seeds_at(self, revision: str) -> list[Seed]:
        """The seeds to insert once `revision` is applied."""
        return [seed for seed in self.seeds if seed.revision == revision]

    @property
    def row_count(self) -> int:
        """How many rows the plan seeds."""
        return sum(len(seed.rows) for seed in self.seeds)

    def seeded_at(self, table: str, key: str, value: Any) -> str:
        """The revision a row was seeded at (for failure messages), or `?`."""
        for seed in self.seeds:
            if seed.table == table and any(str(row.get(key)) == str(value) for row in seed.rows):
                return seed.revision
        return "?"


def load_plan(path: Path) -> DataPlan:
    """Read and validate a plan file; a ConfigError names the file and what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: data plan not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or set(raw) - {"seed", "expect"}:
        raise ConfigError(f"{path}: a data plan has only the keys `seed` and `expect`")
    seeds = [
        Seed(str(revision), _name(path, table), tuple(_rows(path, table, rows)))
        for revision, tables in (raw.get("seed") or {}).items()
        for table, rows in (tables or {}).items()
    ]
    expectations = []
    for table, spec in (raw.get("expect") or {}).items():
        if not isinstance(spec, dict) or "key" not in spec:
            raise ConfigError(f"{path}: expect.{table} needs `key` and `rows`")
        rows = tuple(_rows(path, table, spec.get("rows") or []))
        key = _name(path, spec["key"])
        if any(key not in row for row in rows):
            raise ConfigError(f"{path}: every row of expect.{table} must give its key {key!r}")
        expectations.append(Expectation(_name(path, table), key, rows))
    return DataPlan(tuple(seeds), tuple(expectations))


def _name(path: Path, name: Any) -> str:
    """Table and column names are plain lowercase identifiers (they are put into SQL)."""
    value = str(name)
    if not value or not set(value) <= _IDENTIFIER_CHARS or value[0].isdigit():
        raise ConfigError(f"{path}: {value!r} is not a plain lowercase table or column name")
    return value


def _rows(path: Path, table: str, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ConfigError(f"{path}: the rows of {table} must be a list of mappings")
    for row in rows:
        for column in row:
            _name(path, column)
    return rows


def insert_seeds(connection: Connection, seeds: list[Seed]) -> int:
    """Insert the rows and commit; returns how many were inserted."""
    count = 0
    for seed in seeds:
        for row in seed.rows:
            columns = list(row)
            statement = text(
                f"INSERT INTO {seed.table} ({', '.join(columns)}) "  # noqa: S608 - names validated
                f"VALUES ({', '.join(f':{column}' for column in columns)})"
            )
            connection.execute(statement, _literal(row))
            count += 1
    connection.commit()
    return count


def check_expectations(connection: Connection, plan: DataPlan) -> list[str]:
    """One line per expected row that is missing or holds a different value."""
    problems: list[str] = []
    for expectation in plan.expectations:
        for row in expectation.rows:
            problems += _check_row(connection, plan, expectation, row)
    return problems


def _check_row(
    connection: Connection, plan: DataPlan, expectation: Expectation, row: dict[str, Any]
) -> list[str]:
    key_value = row[expectation.key]
    where = f"{expectation.table} {expectation.key}={key_value}"
    where += f" (seeded at {plan.seeded_at(expectation.table, expectation.key, key_value)})"
    columns = [column for column in row if column != expectation.key]
    selected = [f"{column}::text AS v{index}" for index, column in enumerate(columns)]
    selected += [
        f"({column} IS NOT DISTINCT FROM :e{index}) AS ok{index}"
        for index, column in enumerate(columns)
    ]
    statement = text(
        f"SELECT {', '.join(selected) or '1'} FROM {expectation.table} "  # noqa: S608
        f"WHERE {expectation.key} = :key"
    )
    params = {f"e{index}": _value(row[column]) for index, column in enumerate(columns)}
    try:
        found = connection.execute(statement, {**params, "key": _value(key_value)}).mappings()
        record = found.first()
    except Exception as exc:
        connection.rollback()
        return [f"{where}: cannot be read: {_first_line(exc)}"]
    if record is None:
        return [f"{where}: the row is gone"]
    return [
        f"{where}: {column} is {_shown(record[f'v{index}'])}, expected {_shown(row[column])}"
        for index, column in enumerate(columns)
        if not record[f"ok{index}"]
    ]


def _literal(row: dict[str, Any]) -> dict[str, Any]:
    return {column: _value(value) for column, value in row.items()}


def _value(value: Any) -> Any:
    """YAML scalars as PostgreSQL literals: text (cast by the server), or NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shown(value: Any) -> str:
    return "NULL" if value is None else repr(str(value))


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
