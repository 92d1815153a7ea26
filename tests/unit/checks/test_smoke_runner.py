"""The smoke runner's pure parts: the pytest command line, the target, reading JUnit XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.checks.smoke import (
    CheckResult,
    ExpectedVersion,
    check_name,
    parse_junit,
    suite_argv,
    suite_environment,
)
from shipyard.errors import ConfigError

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="0" tests="4">
<testcase classname="check_app" name="test_health" time="0.01">
  <properties><property name="detail" value="200 in 3 ms"/></properties></testcase>
<testcase classname="check_app" name="test_ready" time="0.01">
  <failure
   message="AssertionError: /ready answered 503: database error (refused)&#10;assert 503 == 2">
  trace</failure></testcase>
<testcase classname="check_app" name="test_version" time="0.01">
  <error message="failed on setup with &quot;httpx.ConnectError: [Errno 111] refused&quot;"
  >x</error>
</testcase>
<testcase classname="check_edge" name="test_metrics_are_not_public" time="0.01"/>
</testsuite></testsuites>
"""


def test_parse_junit_one_result_per_check_in_order():
    assert parse_junit(JUNIT) == [
        CheckResult("health", True, "200 in 3 ms"),
        CheckResult("ready", False, "/ready answered 503: database error (refused)"),
        CheckResult(
            "version", False, 'failed on setup with "httpx.ConnectError: [Errno 111] refused"'
        ),
        CheckResult("metrics are not public", True, "ok"),
    ]


def test_check_names_read_like_the_setup_output():
    assert check_name("test_documents_round_trip") == "documents round trip"


def test_suite_argv_selects_the_check_files_and_writes_junit():
    argv = suite_argv("python", Path("/tmp/r.xml"), burst=True)
    assert argv[:4] == ["python", "-m", "pytest", "tests/smoke"]
    assert "python_files=check_*.py" in argv
    assert "junit_family=xunit1" in argv
    assert "--junitxml=/tmp/r.xml" in argv
    assert argv[argv.index("pytest_timeout") - 1] == "-p"
    assert "-m" not in argv[3:]
    quick = suite_argv("python", Path("/tmp/r.xml"), burst=False)
    assert quick[-2:] == ["-m", "not burst"]


def test_suite_environment_carries_the_target_and_release():
    env = suite_environment("https://docs.example.com", ExpectedVersion("1.2.3", "abc"))
    assert env == {
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "SHIPYARD_SMOKE_URL": "https://docs.example.com",
        "SHIPYARD_SMOKE_VERSION": "1.2.3",
        "SHIPYARD_SMOKE_GIT_SHA": "abc",
        "SHIPYARD_SMOKE_CA_FILE": "",
        "SHIPYARD_SMOKE_HTTP_PORT": "",
        "SHIPYARD_SMOKE_CORS_ORIGIN": "",
    }
    assert suite_environment("http://127.0.0.1:8080", None)["SHIPYARD_SMOKE_VERSION"] == ""


@pytest.mark.parametrize("url", ["ftp://host", "127.0.0.1:8080", "http://"])
def test_suite_environment_refuses_what_is_not_an_http_url(url):
    with pytest.raises(ConfigError):
        suite_environment(url, None)
