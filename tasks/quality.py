"""The test suite and the linters, as CI runs them."""

from __future__ import annotations

import shlex

from invoke import task

PYTEST = ".venv/bin/pytest"


@task
def lint(c):
    """ruff (check and format) and mypy over the Python code, shellcheck over every shell
    script, hadolint over every Dockerfile (.hadolint.yaml says why a rule is ignored)."""
    from shipyard.config import PROJECT_ROOT
    from shipyard.lint_targets import dockerfiles, shell_scripts

    c.run(".venv/bin/ruff check .", pty=False)
    c.run(".venv/bin/ruff format --check .", pty=False)
    c.run(".venv/bin/mypy", pty=False)  # strict for shipyard/; see [tool.mypy] in pyproject
    c.run(".venv/bin/shellcheck " + shlex.join(shell_scripts(PROJECT_ROOT)), pty=False)
    c.run(".venv/bin/hadolint " + shlex.join(dockerfiles(PROJECT_ROOT)), pty=False)


@task(
    help={
        "unit": "only the unit tests (no Docker needed)",
        "keyword": "only tests matching this pytest -k expression",
        "coverage": "measure the coverage of shipyard/ over the tests run (the `inv` processes"
        " they start included) and print it, least covered first",
        "emulated": "also the tests that build and run arm64 images under QEMU (slow from cold)",
    }
)
def test(c, unit=False, keyword="", coverage=False, emulated=False):
    """Lint, then every test: unit, then integration on the real Docker engine (the emulated
    arm64 build only with --emulated)."""
    lint(c)
    selection = "tests/unit" if unit else "tests"
    junit = "--junitxml=reports/junit.xml"
    keyword_option = f" -k '{keyword}'" if keyword else ""
    if not emulated:
        print("leaving out the emulated arm64 image tests (marker `emulated`; inv test --emulated)")
        keyword_option += " -m 'not emulated'"
    cov = " --cov --cov-report=term --cov-report=xml:reports/coverage.xml" if coverage else ""
    c.run(f"{PYTEST} {selection} {junit}{keyword_option}{cov}", pty=False)
