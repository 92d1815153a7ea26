"""Pure parts of the migration gate: schema differences, data plans, the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.migrations.data_plan import load_plan
from shipyard.migrations.harness import CheckOutcome, MigrationReport, RevisionTiming
from shipyard.migrations.render import check_lines, summary_line, timing_lines
from shipyard.migrations.schema_snapshot import differences
from shipyard.migrations.scratch_db import parse_port, run_argv

ROOT = Path(__file__).resolve().parents[3]


def test_differences_name_what_was_left_behind_missing_or_changed():
    before = {"column items.id": "integer not null", "index ix_a": "CREATE INDEX ix_a"}
    after = {"column items.id": "bigint not null", "column items.note": "text null"}
    assert differences(before, after) == [
        "changed: column items.id: integer not null -> bigint not null",
        "left behind: column items.note (text null)",
        "missing: index ix_a (CREATE INDEX ix_a)",
    ]
    assert differences(before, dict(before)) == []


def test_the_app_data_plan_seeds_two_revisions_and_expects_the_backfill():
    plan = load_plan(ROOT / "shipyard" / "migrations" / "docstore_data.yaml")
    assert {seed.revision for seed in plan.seeds} == {
        "0001_create_documents",
        "0002_object_key_sha256",
    }
    assert plan.row_count == 4
    rows = {row["id"]: row for row in plan.expectations[0].rows}
    first = "0b7a1f6e-3c1d-4e59-9a59-1d2f0c6a0001"
    assert rows[first]["object_key"] == f"documents/{first}"
    assert plan.seeded_at("documents", "id", first) == "0001_create_documents"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: [", "not valid YAML"),
        ("other: 1", "only the keys"),
        ("seed: {r1: {items: [{'id; drop': 1}]}}", "not a plain lowercase"),
        ("expect: {items: {rows: []}}", "needs `key`"),
        ("expect: {items: {key: id, rows: [{name: x}]}}", "must give its key"),
        ("seed: {r1: {items: {id: 1}}}", "list of mappings"),
    ],
)
def test_bad_data_plans_are_config_errors(tmp_path: Path, text, message):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_plan(path)


def test_missing_plan_names_the_file(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"plan\.yaml: data plan not found"):
        load_plan(tmp_path / "plan.yaml")


def test_scratch_server_argv_keeps_the_password_out_and_publishes_on_loopback():
    argv = run_argv("postgres:16", "scratch")
    assert argv[argv.index("--env") + 1] == "POSTGRES_PASSWORD"
    assert "127.0.0.1::5432" in argv
    assert "--rm" in argv
    assert not any("PASSWORD=" in part for part in argv)
    assert parse_port("127.0.0.1:49153\n") == ("127.0.0.1", 49153)


def test_report_lines():
    report = MigrationReport(ini=Path("alembic.ini"), image="postgres:16", revisions=["0001_a"])
    report.timings.append(RevisionTiming("0001_a", 12.4, 3.0, 10.0))
    report.checks += [
        CheckOutcome("one head", "ok", "0001_a"),
        CheckOutcome("stairway", "failed", "0001_a: boom", 0.1, "0001_a", "left behind: x"),
        CheckOutcome("models", "not run", "needs one head"),
    ]
    report.seconds = 1.25
    assert timing_lines(report) == [
        "revision    upgrade  downgrade  upgrade again",
        "0001_a        12 ms       3 ms          10 ms",
    ]
    assert check_lines(report) == [
        "ok    one head: 0001_a",
        "FAIL  stairway: 0001_a: boom",
        "        left behind: x",
        "skip  models: needs one head",
    ]
    assert summary_line(report) == "1 passed, 1 failed, 1 not run in 1.2 s (1 revision)"
    assert not report.ok
