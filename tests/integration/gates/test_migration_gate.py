"""`inv db.test-migrations` on the app's history and on histories broken on purpose."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integration.support import run_inv

FIXTURES = "tests/fixtures/migrations"


def _leftover_scratch_containers() -> str:
    return subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=io.shipyard.purpose=migration-test"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_the_app_history_passes_every_check_and_reports_timings():
    result = run_inv("db.test-migrations")
    assert result.returncode == 0, result.stdout + result.stderr
    for revision in ("0001_create_documents", "0002_object_key_sha256", "0003_backfill_object_key"):
        assert any(
            line.startswith(revision) and line.endswith(" ms")
            for line in result.stdout.splitlines()
        ), f"no timing line for {revision}:\n{result.stdout}"
    for check in (
        "one head",
        "upgrade from empty to head",
        "stairway: up, down, up again",
        "full round trip",
        "models match the DDL",
        "data survives to head: 4 rows seeded at 2 revisions",
    ):
        assert f"ok    {check}" in result.stdout, result.stdout
    assert "6 passed, 0 failed" in result.stdout
    assert _leftover_scratch_containers() == ""


def test_json_report_for_ci():
    result = run_inv("db.test-migrations", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["revisions"][-1] == "0003_backfill_object_key"
    assert [t["revision"] for t in report["timings_ms"]] == report["revisions"]
    assert {check["status"] for check in report["checks"]} == {"ok"}


@pytest.mark.parametrize(
    ("case", "failing_line", "reason"),
    [
        (
            "missing_downgrade",
            "FAIL  stairway: up, down, up again: 0002_add_note: its downgrade leaves a trace",
            "left behind: column items.note (text null)",
        ),
        (
            "model_drift",
            "FAIL  models match the DDL: the models differ from the schema the migrations build"
            " (at head 0001_create_items)",
            "op.add_column('items', sa.Column('owner', sa.Text(), nullable=True))",
        ),
        (
            "two_heads",
            "FAIL  one head: Expected 1 head revision, found 2: 0002_add_colour, 0002_add_price",
            "skip  stairway: up, down, up again: needs a history with one head",
        ),
        (
            "lossy_backfill",
            "FAIL  data survives to head: 2 row value(s) wrong at head",
            "items id=2 (seeded at 0001_create_items): first_name is 'Hopper', expected 'Grace'",
        ),
    ],
)
def test_broken_histories_fail_naming_the_revision_and_the_reason(case, failing_line, reason):
    args = ["db.test-migrations", "--ini", f"{FIXTURES}/{case}/alembic.ini"]
    if case == "lossy_backfill":
        args += ["--data", f"{FIXTURES}/{case}/data.yaml"]
    result = run_inv(*args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert failing_line in result.stdout, result.stdout
    assert reason in result.stdout, result.stdout
    assert "error: migration checks failed:" in result.stderr
    assert "Traceback" not in result.stderr
    assert _leftover_scratch_containers() == ""


def test_a_missing_ini_is_bad_input():
    result = run_inv("db.test-migrations", "--ini", "nowhere/alembic.ini")
    assert result.returncode == 2
    assert "nowhere/alembic.ini: no such alembic.ini" in result.stderr
