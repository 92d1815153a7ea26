"""The app image built for linux/arm64 (Oracle's Ampere A1) on this amd64 machine by
`inv images.build --platform linux/arm64`, then started under QEMU user emulation: it must
answer /health. The first build is slow (debootstrap's second stage, apt and pip all run
emulated); the base and python stand-in are reused while their context is unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.support import free_port, run_inv

pytestmark = pytest.mark.emulated
"""From cold (no arm64 base or python stand-in yet) the emulated build takes 20-45 minutes on
two cores, more than the suite's time budget: `inv test --emulated` runs it."""

HEALTH_TIMEOUT = 300.0
"""gunicorn and the app's imports under emulation take tens of seconds on a busy machine."""


@pytest.fixture(scope="module")
def arm64_app() -> str:
    """`inv images.build --platform linux/arm64`; returns the built ref."""
    built = run_inv("images.build", "--platform", "linux/arm64", timeout=5400)
    assert built.returncode == 0, f"arm64 build failed:\n{built.stdout}\n{built.stderr[-3000:]}"
    line = [text for text in built.stdout.splitlines() if "for linux/arm64" in text][-1]
    return line.split("built ", 1)[1].split(" for ", 1)[0].strip()


@pytest.fixture(scope="module")
def running(arm64_app: str) -> Iterator[tuple[str, int]]:
    """The arm64 app container (emulated), /health published on a free 127.0.0.1 port."""
    name = f"shipyard-arm64-health-{os.environ.get('SHIPYARD_TEST_SUFFIX', '')}{os.getpid()}"
    port = free_port()
    env = {
        "APP_ENV": "local",
        "POSTGRES_DB": "docs",
        "POSTGRES_USER": "docs",
        "POSTGRES_PASSWORD": "not-used-by-health",
        "S3_ACCESS_KEY": "not-used-by-health",
        "S3_SECRET_KEY": "not-used-by-health",
    }
    argv = ["docker", "run", "--detach", "--name", name, "--platform", "linux/arm64"]
    argv += ["--publish", f"127.0.0.1:{port}:8000"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    started = subprocess.run([*argv, arm64_app], capture_output=True, text=True, check=False)
    assert started.returncode == 0, started.stderr
    try:
        yield name, port
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)


def test_the_image_is_labelled_arm64(arm64_app: str) -> None:
    data = json.loads(
        subprocess.run(
            ["docker", "image", "inspect", arm64_app], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    assert data["Architecture"] == "arm64"
    assert arm64_app.endswith("-arm64")


def test_it_runs_arm64_code_and_answers_health(running: tuple[str, int]) -> None:
    name, port = running
    machine = subprocess.run(
        ["docker", "exec", name, "uname", "-m"], capture_output=True, text=True, check=False
    )
    assert machine.stdout.strip() == "aarch64", machine.stderr
    deadline = time.monotonic() + HEALTH_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            if response.status_code == 200:
                break
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(2)
    else:
        logs = subprocess.run(
            ["docker", "logs", "--tail", "20", name], capture_output=True, text=True
        )
        pytest.fail(
            f"/health did not answer 200 within {HEALTH_TIMEOUT:.0f} s ({last}):\n{logs.stderr}"
        )
    assert response.json().get("status") == "ok", response.text
