"""The test suite and the linters, as CI runs them."""

from __future__ import annotations

from invoke import task

PYTEST = ".venv/bin/pytest"


@task
def lint(c):
    """ruff (check and format) and mypy over the Python code, shellcheck over the shell
    scripts."""
    c.run(".venv/bin/ruff check .", pty=False)
    c.run(".venv/bin/ruff format --check .", pty=False)
    c.run(".venv/bin/mypy", pty=False)  # strict for shipyard/; see [tool.mypy] in pyproject
    c.run(
        ".venv/bin/shellcheck scripts/bootstrap .ci/run images/postgres/docker-entrypoint.sh"
        " images/nginx/docker-entrypoint.sh images/nginx/docker-entrypoint.d/*"
        " images/sandbox/sandbox-init",
        pty=False,
    )


@task(
    help={
        "unit": "only the unit tests (no Docker needed)",
        "keyword": "only tests matching this pytest -k expression",
    }
)
def test(c, unit=False, keyword=""):
    """Lint, then every test: unit, then integration on the real Docker engine."""
    lint(c)
    selection = "tests/unit" if unit else "tests"
    junit = "--junitxml=reports/junit.xml"
    keyword_option = f" -k '{keyword}'" if keyword else ""
    c.run(f"{PYTEST} {selection} {junit}{keyword_option}", pty=False)
