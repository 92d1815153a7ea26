"""The durable-log query: arguments, the command for the VM (run here by a real sh over
real files, plain and gzip-compressed), and the parser."""

from __future__ import annotations

import gzip
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.logs import query as q

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def stored(time: str, service: str, container: str, log: str, stream: str = "stdout") -> str:
    """A line as monitoring/logs/rsyslog-shipyard.conf writes it (its template's spacing)."""
    fields = {"time": time, "service": service, "container": container, "id": "0123456789ab"}
    fields |= {"stream": stream, "log": log + "\n"}
    return ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in fields.items()).join("{}")


APP_OLD = stored(
    "2026-12-03T10:00:01.5Z",
    "app",
    "docstore-app-1",
    '{"level": "INFO", "message": "GET /documents 200", "request_id": "req-42"}',
)
APP_NEW = stored(
    "2026-12-03T11:30:00.123456789Z",
    "app",
    "docstore-app-2",
    '{"level": "INFO", "message": "GET /ready 200", "request_id": "req-420"}',
)
NGINX = stored(
    "2026-12-03T10:00:01.7Z",
    "nginx",
    "docstore-nginx-1",
    '{"time":"2026-12-03T10:00:01+00:00","request_id":"req-42","status":200}',
)
DB = stored("2026-12-03T09:00:00Z", "db", "docstore-db-1", "LOG:  checkpoint complete", "stderr")


@pytest.fixture()
def log_dir(tmp_path: Path) -> Path:
    """A VM's /var/log/shipyard: live files, one rotated, one rotated and compressed."""
    (tmp_path / "app.log").write_text(APP_NEW + "\n")
    with gzip.open(tmp_path / "app.log.2.gz", "wt") as packed:
        packed.write(APP_OLD + "\n")
    (tmp_path / "nginx.log.1").write_text(NGINX + "\n")
    (tmp_path / "db.log").write_text(DB + "\nnot json\n")
    return tmp_path


def run(query: q.LogQuery, log_dir: Path) -> list[q.LogLine]:
    argv = q.query_argv(query, str(log_dir))
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return q.parse_output(done.stdout, query)


def test_parse_when_reads_durations_and_iso_times() -> None:
    assert q.parse_when("", NOW) is None
    assert q.parse_when("15m", NOW) == datetime(2026, 12, 3, 11, 45, tzinfo=UTC)
    assert q.parse_when("2d", NOW) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert q.parse_when("2026-12-03T10:00", NOW) == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert q.parse_when("2026-12-03T11:00+01:00", NOW) == datetime(2026, 12, 3, 10, tzinfo=UTC)
    assert q.parse_when("2026-12-03T10:00Z", NOW) == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"since": "yesterday"}, "cannot read 'yesterday' as a time"),
        ({"services": ("../etc",)}, "not a compose service name"),
        ({"grep": "("}, "not a regular expression"),
        ({"tail": -1}, "--tail -1"),
        ({"since": "1h", "until": "2h"}, "is after --until"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(kwargs: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        q.build_query(now=NOW, **kwargs)


def test_query_argv_passes_every_value_as_a_parameter() -> None:
    query = q.build_query(
        services=("app",), since="2026-12-03T10:00:00Z", grep="GET .*", tail=50, now=NOW
    )
    assert q.query_argv(query) == [
        "sh",
        "-c",
        q.QUERY_SCRIPT,
        "sh",
        "/var/log/shipyard",
        "2026-12-03T10:00:00",
        "",
        "",
        "GET .*",
        "50",
        "app.log*",
    ]


def test_request_id_is_a_fixed_string_and_the_vm_keeps_every_match() -> None:
    argv = q.query_argv(q.build_query(request_id="a'b; rm -rf /", tail=5, now=NOW))
    assert argv[5:] == ["", "", "a'b; rm -rf /", "", "0", "*.log*"]


def test_all_files_plain_and_compressed_oldest_first(log_dir: Path) -> None:
    lines = run(q.build_query(tail=0, now=NOW), log_dir)
    assert [line.container for line in lines] == [
        "docstore-db-1",
        "docstore-app-1",
        "docstore-nginx-1",
        "docstore-app-2",
    ]
    assert lines[0].stream == "stderr"
    assert lines[0].message == "LOG:  checkpoint complete"


def test_request_id_finds_app_and_nginx_lines_exactly(log_dir: Path) -> None:
    lines = run(q.build_query(request_id="req-42", now=NOW), log_dir)
    assert [(line.service, line.request_id) for line in lines] == [
        ("app", "req-42"),
        ("nginx", "req-42"),
    ]


def test_since_until_service_grep_and_tail(log_dir: Path) -> None:
    window = q.build_query(since="2026-12-03T10:00:00Z", until="2026-12-03T10:00:01Z", now=NOW)
    assert [line.service for line in run(window, log_dir)] == ["app", "nginx"]
    assert [line.container for line in run(q.build_query(since="1h", now=NOW), log_dir)] == [
        "docstore-app-2"
    ]
    only_app = run(q.build_query(services=("app",), now=NOW), log_dir)
    assert {line.service for line in only_app} == {"app"}
    assert len(only_app) == 2
    grep = run(q.build_query(grep="checkpoint|/ready", now=NOW), log_dir)
    assert [line.service for line in grep] == ["db", "app"]
    assert [line.container for line in run(q.build_query(tail=1, now=NOW), log_dir)] == [
        "docstore-app-2"
    ]


def test_missing_directory_has_its_own_exit_code(tmp_path: Path) -> None:
    argv = q.query_argv(q.build_query(now=NOW), str(tmp_path / "absent"))
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 4


def test_lines_that_are_not_ours_are_skipped() -> None:
    assert q.parse_line("not json") is None
    assert q.parse_line('{"log": "no time"}') is None
    line = q.parse_line(APP_OLD)
    assert line is not None
    assert line.human().startswith("2026-12-03T10:00:01.5Z  app")
    assert line.as_json()["request_id"] == "req-42"
