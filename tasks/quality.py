"""The test suite and the linters, as CI runs them."""

from __future__ import annotations

from invoke import task

PYTEST = ".venv/bin/pytest"


@task
def lint(c):
    """ruff (check and format) over the Python code, shellcheck over the shell scripts,
    hadolint over the Dockerfiles."""
    c.run(".venv/bin/ruff check .", pty=False)
    c.run(".venv/bin/ruff format --check .", pty=False)
    c.run(
        ".venv/bin/shellcheck scripts/bootstrap .ci/run images/postgres/docker-entrypoint.sh"
        " images/nginx/docker-entrypoint.sh images/nginx/docker-entrypoint.d/*"
        " images/sandbox/sandbox-init",
        pty=False,
    )
    # The local stand-ins (never shipped) install what Debian's archive has today: pinned
    # package versions (DL3008) would break at each point release.
    c.run(".venv/bin/hadolint app/Dockerfile", pty=False)
    c.run(".venv/bin/hadolint --ignore DL3008 --ignore DL3066 images/*/Dockerfile", pty=False)


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
