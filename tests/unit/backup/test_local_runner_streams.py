"""LocalRunner.stream_out / stream_in with real processes: the Runner protocol's promises."""

from __future__ import annotations

import io
import time

import pytest

from shipyard.errors import CommandFailedError
from shipyard.remote import LocalRunner
from shipyard.remote.base import describe

RUNNER = LocalRunner()


def _drain(stream) -> int:
    total = 0
    while data := stream.read(65536):
        total += len(data)
    return total


def test_stream_out_hands_over_stdout_in_pieces():
    with RUNNER.stream_out(["sh", "-c", "head -c 3000000 /dev/zero"]) as stream:
        assert len(stream.read(1000)) == 1000
        assert _drain(stream) == 3_000_000 - 1000


def test_a_producer_that_fails_makes_the_read_raise_at_eof_with_its_stderr():
    argv = [
        "sh",
        "-c",
        "head -c 200000 /dev/zero; echo 'pg_dump: error: connection lost' >&2; exit 1",
    ]
    with RUNNER.stream_out(argv) as stream, pytest.raises(CommandFailedError) as caught:
        _drain(stream)
    assert "exit 1" in caught.value.one_line()
    assert "connection lost" in caught.value.one_line()


def test_leaving_early_stops_the_command():
    started = time.monotonic()
    with RUNNER.stream_out(["sh", "-c", "yes"]) as stream:
        stream.read(10)
    assert time.monotonic() - started < 10


def test_stream_in_feeds_stdin_and_reports_the_exit_code():
    result = RUNNER.stream_in(["sh", "-c", "wc -c; exit 3"], iter([b"a" * 10, b"", b"b" * 5]))
    assert result.exit_code == 3
    assert result.stdout.strip() == "15"


def test_stream_in_stops_feeding_when_the_command_stops_reading():
    result = RUNNER.stream_in(["head", "-c", "1"], io.BytesIO(b"x" * 50_000_000))
    assert result.exit_code == 0


def test_a_failing_source_stops_the_command_and_propagates():
    def source():
        yield b"partial"
        raise CommandFailedError("hash mismatch")

    with pytest.raises(CommandFailedError, match="hash mismatch"):
        RUNNER.stream_in(["cat"], source())


def test_describe_names_the_command_inside_a_compose_exec():
    argv = ["docker", "compose", "--project-name", "p", "exec", "-T", "db", "pg_dump", "-Fc"]
    assert describe(argv) == "pg_dump (in db)"
    assert describe([*argv[:7], "stdbuf", "--output=4M", "pg_dump"]) == "pg_dump (in db)"
    assert describe(["pg_restore", "--list"]) == "pg_restore"
