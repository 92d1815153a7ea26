"""Reading Locust's CSV files and building its command line (no Locust run here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.checks.load import (
    LOCUSTFILE,
    LoadPlan,
    parse_failures,
    parse_stats,
    progress_line,
)
from shipyard.errors import CommandFailedError, ConfigError

STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,\
90%,95%,98%,99%,99.9%,99.99%,100%
GET,/documents [list],800,2,9,12.5,2,300,512,40.0,0.1,9,11,13,15,20,30,60,90,250,300,300
,Aggregated,1000,4,10,14.2,2,410,600,50.5,0.2,10,12,14,16,22,33,70,110,400,410,410
"""
FAILURES = """Method,Name,Error,Occurrences
GET,/documents [list],429 throttled by the per-client rate limit,3
POST,/documents [upload],500 from /documents [upload],1
"""
HISTORY = """Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,\
99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count
1700000000,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0
1700000012,10,,Aggregated,48.500000,0.500000,9,11,13,15,20,31,60,90,250,300,300,600,6
"""


def test_parse_stats_reads_the_aggregated_row():
    figures = parse_stats(STATS, [95.0, 99.0, 99.9])
    assert figures.requests == 1000
    assert figures.failures == 4
    assert figures.rps == 50.5
    assert figures.percentiles_ms == {95.0: 33.0, 99.0: 110.0, 99.9: 400.0}
    assert (figures.avg_ms, figures.med_ms, figures.min_ms, figures.max_ms) == (14.2, 10, 2, 410)
    assert figures.error_rate == pytest.approx(0.4)


def test_stats_without_an_aggregated_row_fail_clearly():
    with pytest.raises(CommandFailedError, match="no aggregated statistics"):
        parse_stats(STATS.splitlines()[0] + "\n", [95.0])


def test_failures_are_named_most_frequent_first():
    assert parse_failures(FAILURES) == [
        ("GET /documents [list]: 429 throttled by the per-client rate limit", 3),
        ("POST /documents [upload]: 500 from /documents [upload]", 1),
    ]


def test_progress_line_from_the_history():
    line = progress_line(HISTORY, 20)
    assert line == " 12/20 s  users  10  rps   48.5  p95    31 ms  requests 600  errors 1.0%"
    assert progress_line(HISTORY.splitlines()[0] + "\n", 20) is None


def test_plan_argv_is_bounded_headless_and_writes_reports(tmp_path: Path):
    plan = LoadPlan("http://127.0.0.1:8080", 10, 5.0, 20, 5000, tmp_path, "load-local", (99.9,))
    argv = plan.argv("python")
    assert argv[:3] == ["python", "-m", "locust"]
    assert argv[argv.index("--locustfile") + 1] == str(LOCUSTFILE)
    assert "--headless" in argv
    assert argv[argv.index("--run-time") + 1] == "20s"
    assert argv[argv.index("--users") + 1] == "10"
    assert argv[argv.index("--csv") + 1] == str(tmp_path / "load-local")
    assert argv[argv.index("--html") + 1] == str(tmp_path / "load-local.html")
    assert plan.environment() == {
        "SHIPYARD_LOAD_MAX_REQUESTS": "5000",
        "SHIPYARD_LOAD_PERCENTILES": "99.9",
    }


@pytest.mark.parametrize(("users", "rate"), [(0, 5.0), (10, 0.0)])
def test_plan_refuses_no_users(tmp_path: Path, users, rate):
    with pytest.raises(ConfigError):
        LoadPlan("http://x", users, rate, 20, 10, tmp_path, "n").argv()
