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
    }
)
def test(c, unit=False, keyword="", coverage=False):
    """Lint, then every test: unit, then integration on the real Docker engine."""
    lint(c)
    selection = "tests/unit" if unit else "tests"
    junit = "--junitxml=reports/junit.xml"
    keyword_option = f" -k '{keyword}'" if keyword else ""
    cov = " --cov --cov-report=term --cov-report=xml:reports/coverage.xml" if coverage else ""
    c.run(f"{PYTEST} {selection} {junit}{keyword_option}{cov}", pty=False)
