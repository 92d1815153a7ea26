"""The migration gate: every check a history must pass, each on a fresh database.

pytest-alembic provides what it covers (one head, upgrade from empty, models match the DDL,
a full head-to-base-and-back round trip); Shipyard adds the rest: the stairway (every
revision up, down, up again, timed), a catalog-level "downgrade leaves no trace", and rows
seeded at each revision that must be intact and transformed at head. A check that fails
names the revision and the reason; the others still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import alembic.config
import pytest_alembic
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Connection, create_engine, pool, text

from shipyard.migrations.data_plan import DataPlan, check_expectations, insert_seeds
from shipyard.migrations.schema_snapshot import differences, snapshot
from shipyard.migrations.scratch_db import ScratchServer, scratch_postgres

Runner = pytest_alembic.MigrationContext


class CheckFailedError(Exception):
    """A check found a problem: what, and which revision (when one is to blame)."""

    def __init__(self, message: str, revision: str | None = None, context: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.revision = revision
        self.context = context


@dataclass(frozen=True)
class CheckOutcome:
    """One check of the gate."""

    name: str
    status: str  # "ok", "failed" or "not run"
    detail: str
    seconds: float = 0.0
    revision: str | None = None
    context: str = ""

    @property
    def ok(self) -> bool:
        """True when the check passed."""
        return self.status == "ok"


@dataclass(frozen=True)
class RevisionTiming:
    """How long one revision's stairway steps took."""

    revision: str
    upgrade_ms: float
    downgrade_ms: float
    upgrade_again_ms: float


@dataclass
class MigrationReport:
    """Everything the gate found."""

    ini: Path
    image: str
    revisions: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    timings: list[RevisionTiming] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)


@dataclass
class MigrationGate:
    """Runs the checks of one Alembic history against a scratch server."""

    ini: Path
    server: ScratchServer
    image: str
    plan: DataPlan | None = None
    progress: Callable[[str], None] = lambda _: None
    _databases: int = 0

    def run(self) -> MigrationReport:
        """Run every check; never raises for a failing one."""
        started = time.monotonic()
        report = MigrationReport(ini=self.ini, image=self.image)
        with self._runner() as runner:
            report.revisions = [r for r in runner.history.revisions if r not in ("base", "heads")]
        heads = self._check(report, "one head", self._one_head)
        checks: list[tuple[str, Callable[[Runner], str]]] = [
            ("upgrade from empty to head", self._upgrade),
            ("stairway: up, down, up again", lambda runner: self._stairway(runner, report)),
            ("full round trip: head to base and back", self._round_trip),
            ("models match the DDL", self._models_match),
            ("data survives to head", self._data_survives),
        ]
        for name, check in checks:
            if not heads.ok:
                report.checks.append(CheckOutcome(name, "not run", "needs a history with one head"))
                continue
            self._check(report, name, check)
        report.seconds = time.monotonic() - started
        return report

    def _check(
        self, report: MigrationReport, name: str, check: Callable[[Runner], str]
    ) -> CheckOutcome:
        self.progress(name)
        started = time.monotonic()
        try:
            with self._runner() as runner:
                detail = check(runner)
            outcome = CheckOutcome(name, "ok", detail, time.monotonic() - started)
        except CheckFailedError as exc:
            outcome = CheckOutcome(
                name, "failed", exc.message, time.monotonic() - started, exc.revision, exc.context
            )
        report.checks.append(outcome)
        return outcome

    @contextmanager
    def _runner(self) -> Iterator[Runner]:
        """A pytest-alembic runner bound to a connection to a new, empty database."""
        self._databases += 1
        name = f"gate_{self._databases}"
        admin = create_engine(self.server.url(), poolclass=pool.NullPool, hide_parameters=True)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        engine = create_engine(self.server.url(name), poolclass=pool.NullPool, hide_parameters=True)
        config = alembic.config.Config(str(self.ini))
        # The app's env.py would otherwise reconfigure logging to JSON lines on stdout.
        config.attributes["configure_logging"] = False
        try:
            with engine.connect() as connection:
                gate_config = pytest_alembic.Config(alembic_config=config)
                with pytest_alembic.runner(gate_config, engine=connection) as runner:
                    yield runner
        finally:
            engine.dispose()

    # pytest-alembic's checks -------------------------------------------------------------

    def _one_head(self, runner: Runner) -> str:
        heads = sorted(runner.heads)
        if len(heads) != 1:
            _pytest_alembic(test_single_head_revision, runner)
        return heads[0]

    def _upgrade(self, runner: Runner) -> str:
        started = time.monotonic()
        _pytest_alembic(test_upgrade, runner)
        count = _revisions(len(runner.history.revisions) - 2)
        return f"{count} in {_ms(time.monotonic() - started)}"

    def _round_trip(self, runner: Runner) -> str:
        _pytest_alembic(test_up_down_consistency, runner)
        return "every downgrade runs, and the history upgrades again (pytest-alembic)"

    def _models_match(self, runner: Runner) -> str:
        try:
            _pytest_alembic(test_model_definitions_match_ddl, runner)
        except CheckFailedError as exc:
            if exc.revision is not None or "out of sync" not in exc.message:
                raise
            head = ", ".join(runner.heads)
            raise CheckFailedError(
                f"the models differ from the schema the migrations build (at head {head}):"
                " autogenerate would generate the revision below",
                None,
                exc.context,
            ) from None
        return "autogenerate finds nothing to change"

    # Shipyard's checks --------------------------------------------------------------------

    def _stairway(self, runner: Runner, report: MigrationReport) -> str:
        """For every revision: upgrade, downgrade (which must leave no trace), upgrade again."""
        connection = _connection(runner)
        for revision in report.revisions:
            before = _snapshot(connection)
            up = _timed(lambda: runner.migrate_up_one(), revision, "upgrade")
            down = _timed(lambda: runner.migrate_down_one(), revision, "downgrade")
            trace = differences(before, _snapshot(connection))
            if trace:
                raise CheckFailedError(
                    f"{revision}: its downgrade leaves a trace ({len(trace)} difference(s))",
                    revision,
                    "\n".join(trace),
                )
            again = _timed(lambda: runner.migrate_up_one(), revision, "upgrade again")
            report.timings.append(RevisionTiming(revision, up, down, again))
        return f"{_revisions(len(report.revisions))}; every downgrade leaves no trace"

    def _data_survives(self, runner: Runner) -> str:
        """Seed rows at each revision on the way up; at head they must read as expected."""
        if self.plan is None:
            return "no data plan given: nothing seeded"
        connection = _connection(runner)
        revisions = [r for r in runner.history.revisions if r not in ("base", "heads")]
        seeded = 0
        for revision in revisions:
            _timed(lambda: runner.migrate_up_one(), revision, "upgrade with seeded rows")
            try:
                seeded += insert_seeds(connection, self.plan.seeds_at(revision))
            except Exception as exc:
                raise CheckFailedError(
                    f"{revision}: seeding its rows failed: {_reason(exc)}", revision
                ) from None
        problems = check_expectations(connection, self.plan)
        if problems:
            raise CheckFailedError(
                f"{len(problems)} row value(s) wrong at head: {problems[0]}",
                None,
                "\n".join(problems),
            )
        for revision in reversed(revisions):
            _timed(lambda: runner.migrate_down_one(), revision, "downgrade with rows in place")
        return (
            f"{seeded} rows seeded at {len({s.revision for s in self.plan.seeds})} revisions are"
            " right at head; every downgrade runs with them in place"
        )


def _pytest_alembic(test: Callable[[Runner], None], runner: Runner) -> None:
    """Run one of pytest-alembic's built-in tests, its failure as a CheckFailedError."""
    try:
        test(runner)
    except AssertionError as exc:
        message, _, context = str(exc).partition("\n")
        if "Heads:" in context:
            heads = [line.strip() for line in context.split("Heads:", 1)[1].splitlines()]
            message = f"{message}: {', '.join(head for head in heads if head)}"
        revision = _failing_revision(context)
        raise CheckFailedError(message, revision, context.strip()) from None
    except Exception as exc:
        raise CheckFailedError(_reason(exc)) from None


def _failing_revision(context: str) -> str | None:
    """pytest-alembic names the culprit in a `Failing Revision:` block."""
    lines = context.strip().splitlines()
    for index, line in enumerate(lines[:-1]):
        if line.strip() == "Failing Revision:":
            return lines[index + 1].strip()
    return None


def _timed(step: Callable[[], object], revision: str, what: str) -> float:
    """Run one migration step; milliseconds, or a CheckFailedError naming the revision."""
    started = time.perf_counter()
    try:
        step()
    except NotImplementedError:
        raise CheckFailedError(
            f"{revision}: {what}: raises NotImplementedError; every revision must downgrade",
            revision,
        ) from None
    except Exception as exc:
        raise CheckFailedError(f"{revision}: {what} failed: {_reason(exc)}", revision) from None
    return (time.perf_counter() - started) * 1000


def _snapshot(connection: Connection) -> dict[str, str]:
    """The schema, read in a transaction of its own (so migrations commit their own)."""
    try:
        return snapshot(connection)
    finally:
        connection.commit()


def _connection(runner: Runner) -> Connection:
    connection = runner.connection_executor.connection
    assert isinstance(connection, Connection)
    return connection


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong: the database's own message when there is one."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    text_ = lines[0] if lines else ""
    return f"{type(original).__name__}: {text_}" if text_ else type(original).__name__


def _revisions(count: int) -> str:
    return f"{count} revision{'' if count == 1 else 's'}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def test_history(
    ini: Path, image: str, plan: DataPlan | None, progress: Callable[[str], None]
) -> MigrationReport:
    """Every check of the history behind `ini`, on a scratch server of `image` (then removed)."""
    progress(f"starting a throwaway PostgreSQL ({image})")
    with scratch_postgres(image) as server:
        return MigrationGate(ini, server, image, plan, progress).run()
