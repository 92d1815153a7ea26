"""shipyard-local/python:3.11 stands in for python:3.12-slim as the app Dockerfile uses it."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests.integration.images.support import docker, unique

pytestmark = pytest.mark.integration

WHEELS = "/usr/share/python-wheels"  # Debian's bundled wheels: pip needs no network here


def test_python_venv_and_pip_work(standins, sandbox):
    result = sandbox.run(
        standins["python"],
        "sh",
        "-ec",
        "python --version; python3 -c 'import ssl, sqlite3, venv'; "
        "python -m venv /opt/venv; "
        f"/opt/venv/bin/pip install --no-index --find-links {WHEELS} --force-reinstall setuptools; "
        "/opt/venv/bin/python -c 'import setuptools, sys; print(sys.prefix)'; "
        "test -s /etc/ssl/certs/ca-certificates.crt; "
        'test ! -d /var/lib/apt/lists/partial || test -z "$(ls /var/lib/apt/lists)"',
    )
    assert result.stdout.startswith("Python 3.11.")
    assert "Successfully installed setuptools" in result.stdout
    assert result.stdout.strip().endswith("/opt/venv")


def test_a_venv_built_in_one_stage_runs_in_another(standins, tmp_path):
    """The app Dockerfile's pattern: venv in a build stage, copied into the runtime stage."""
    (tmp_path / "Dockerfile").write_text(
        textwrap.dedent(
            f"""\
            ARG PYTHON_IMAGE=python:3.12-slim
            FROM ${{PYTHON_IMAGE}} AS build
            RUN python -m venv /opt/venv \\
             && /opt/venv/bin/pip install --no-index --find-links {WHEELS} \\
                    --force-reinstall setuptools
            FROM ${{PYTHON_IMAGE}}
            COPY --from=build /opt/venv /opt/venv
            ENV PATH=/opt/venv/bin:$PATH
            RUN useradd --uid 10001 app
            USER 10001:10001
            CMD ["python", "-c", "import setuptools, sys; print(sys.prefix)"]
            """
        )
    )
    tag = f"{unique('py-probe')}:test"
    (tmp_path / "compose.yaml").write_text(
        textwrap.dedent(
            f"""\
            services:
              probe:
                image: {tag}
                build:
                  context: .
                  args:
                    PYTHON_IMAGE: ${{PYTHON_IMAGE:-python:3.12-slim}}
            """
        )
    )
    build = subprocess.run(
        [
            "docker",
            "compose",
            "-p",
            unique("py"),
            "-f",
            str(tmp_path / "compose.yaml"),
            "--progress",
            "plain",
            "build",
        ],
        env={**__import__("os").environ, "PYTHON_IMAGE": standins["python"]},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    try:
        assert build.returncode == 0, build.stderr[-3000:]
        assert docker("run", "--rm", "--read-only", tag).stdout.strip() == "/opt/venv"
    finally:
        docker("rmi", "-f", tag, check=False)
