"""`inv load` against an isolated stack: thresholds pass and fail as configured (exit 99),
reports are written, the run is bounded, an unreachable target is one line and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.support import free_port, run_inv

SHORT = ("--users", "3", "--spawn-rate", "3", "--duration", "6s")


def _load(stack, reports: Path, *args: str):
    """`inv load` against the gates stack, its reports in `reports`."""
    argv = ["load", "--env", "local", "--reports", str(reports), *args]
    return run_inv(*argv, env=stack.overrides(), timeout=120)


def test_passing_thresholds_exit_0_and_write_reports(gates_stack, tmp_path):
    thresholds = ("--threshold", "p(95)<5s", "--threshold", "errors<5%", "--threshold", "rps>1")
    result = _load(gates_stack, tmp_path, *SHORT, *thresholds)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    p(95)<5s:" in result.stdout
    assert "ok    errors<5%:" in result.stdout
    assert "ok    rps>1:" in result.stdout
    assert " users " in result.stderr and " rps " in result.stderr  # the live progress line
    assert (tmp_path / "load-local.html").stat().st_size > 0
    stats = (tmp_path / "load-local_stats.csv").read_text()
    assert "/documents [list]" in stats and "/documents [upload]" in stats


def test_a_failing_threshold_exits_99_like_k6(gates_stack, tmp_path):
    result = _load(gates_stack, tmp_path, *SHORT, "--threshold", "p(50)<0.001ms", "--json")
    assert result.returncode == 99, result.stdout + result.stderr
    report = json.loads(result.stdout)
    [verdict] = report["thresholds"]
    assert (verdict["threshold"], verdict["ok"]) == ("p(50)<0.001ms", False)
    assert verdict["observed"] > 0.001
    assert report["requests"] > 0
    assert "thresholds failed: p(50)<0.001ms" in result.stderr


def test_max_requests_bounds_the_run(gates_stack, tmp_path):
    bounded = ("--users", "3", "--duration", "60s", "--max-requests", "30", "--json")
    result = _load(gates_stack, tmp_path, *bounded)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["requests"] < 60


def test_an_unreachable_target_is_one_line_and_exit_1():
    result = run_inv("load", "--url", f"http://127.0.0.1:{free_port()}", "--duration", "5s")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot reach http://127.0.0.1:")
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_threshold_is_bad_input():
    result = run_inv("load", "--threshold", "p95<300", "--duration", "5s")
    assert result.returncode == 2
    assert "threshold 'p95<300' is not understood" in result.stderr
