"""The smoke suite (tests/smoke) run against a URL: is the environment up, ready, the right
release, working, and does its edge keep its promises.

`inv smoke`, `inv setup` and the deploy gate all call `run_smoke_suite`. The suite is a
pytest suite run in a child process (so a hung check cannot hang the caller, and its
modules never leak into ours); its JUnit XML is both the CI artefact and what this module
reads back to print one line per check.
"""

from __future__ import annotations

import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.config import PROJECT_ROOT
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.remote import LocalRunner, Runner

SUITE = Path("tests") / "smoke"
# Each check gets this long; the suite as a whole this long (the burst is bounded too).
CHECK_TIMEOUT_SECONDS = 60
SUITE_TIMEOUT_SECONDS = 300
_PYTEST_FAILED = 1
PLUGINS = ("pytest_timeout",)
"""The only pytest plugins the suite loads: entry-point autoloading is off, because
importing every installed plugin (hypothesis, pytest-alembic, ...) took 1.5 s of a
2 s run, on every deploy."""


@dataclass(frozen=True)
class CheckResult:
    """One smoke check: its name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ExpectedVersion:
    """The release that should be answering."""

    version: str
    git_sha: str | None = None


@dataclass
class SmokeRun:
    """What a run of the suite found."""

    url: str
    checks: list[CheckResult] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    junit: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [check for check in self.checks if not check.ok]


def suite_argv(python: str, junit: Path, *, burst: bool) -> list[str]:
    """The pytest command line of the suite (run from the repository root)."""
    argv = [
        python,
        "-m",
        "pytest",
        str(SUITE),
        "-o",
        "python_files=check_*.py",
        "-o",
        "junit_family=xunit1",
        "-o",
        f"timeout={CHECK_TIMEOUT_SECONDS}",
        "-p",
        "no:cacheprovider",
        *(arg for plugin in PLUGINS for arg in ("-p", plugin)),
        "-q",
        "--no-header",
        f"--junitxml={junit}",
    ]
    if not burst:
        argv += ["-m", "not burst"]
    return argv


def suite_environment(
    url: str,
    expected: ExpectedVersion | None,
    ca_file: Path | None = None,
    http_port: int | None = None,
    cors_origin: str | None = None,
) -> dict[str, str]:
    """The target, handed to tests/smoke/conftest.py through the environment; `ca_file`
    is a CA the TLS checks trust besides the system's (a test CA's root), `http_port`
    where plain HTTP answers when it is not 80 (a sandbox), `cors_origin` an origin the
    edge allows (the CORS checks)."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ConfigError(f"{url!r} is not an http(s) URL", hint="pass --url https://host")
    return {
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "SHIPYARD_SMOKE_URL": url,
        "SHIPYARD_SMOKE_VERSION": expected.version if expected else "",
        "SHIPYARD_SMOKE_GIT_SHA": (expected.git_sha or "") if expected else "",
        "SHIPYARD_SMOKE_CA_FILE": str(ca_file or ""),
        "SHIPYARD_SMOKE_HTTP_PORT": str(http_port or ""),
        "SHIPYARD_SMOKE_CORS_ORIGIN": cors_origin or "",
    }


def check_name(test_name: str) -> str:
    """`test_documents_round_trip` -> `documents round trip`."""
    return test_name.removeprefix("test_").replace("_", " ")


def parse_junit(xml_text: str) -> list[CheckResult]:
    """One CheckResult per test case of a JUnit XML (xunit1) report, in run order."""
    results = []
    for case in ET.fromstring(xml_text).iter("testcase"):  # noqa: S314 - our own report
        properties = {p.get("name"): p.get("value", "") for p in case.iter("property")}
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        name = check_name(case.get("name", "?"))
        if problem is not None:
            results.append(CheckResult(name, False, _first_line(problem.get("message", ""))))
        elif case.find("skipped") is None:
            results.append(CheckResult(name, True, properties.get("detail", "ok")))
    return results


def _first_line(message: str) -> str:
    text = message.strip()
    for prefix in ("AssertionError: ", "Failed: "):
        text = text.removeprefix(prefix)
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].strip() if lines else "failed"


def run_smoke_suite(
    url: str,
    expected: ExpectedVersion | None = None,
    *,
    burst: bool = True,
    junit: Path | None = None,
    runner: Runner | None = None,
    ca_file: Path | None = None,
    http_port: int | None = None,
    cors_origin: str | None = None,
) -> SmokeRun:
    """Run the suite against `url`; never raises for a failing check (see SmokeRun.ok)."""
    runner = runner or LocalRunner(PROJECT_ROOT)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shipyard-smoke-") as scratch:
        report = junit or Path(scratch) / "smoke.xml"
        report.parent.mkdir(parents=True, exist_ok=True)
        result = runner.run(
            suite_argv(sys.executable, report, burst=burst),
            env=suite_environment(url, expected, ca_file, http_port, cors_origin),
            timeout=SUITE_TIMEOUT_SECONDS,
        )
        if result.exit_code not in (0, _PYTEST_FAILED) or not report.exists():
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
            raise CommandFailedError(
                f"the smoke suite could not run (exit {result.exit_code}): {tail}"
            )
        checks = parse_junit(report.read_text(encoding="utf-8"))
    not_applicable = []
    if urlsplit(url).scheme != "https":
        not_applicable.append(f"https redirect, HSTS and certificate: {url} is not https")
    if not cors_origin:
        not_applicable.append("CORS for an allowed origin (no CORS_ORIGINS)")
    return SmokeRun(
        url=url,
        checks=checks,
        not_applicable=not_applicable,
        junit=junit,
        seconds=time.monotonic() - started,
    )
