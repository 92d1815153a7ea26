"""The app image run the way railway.toml tells Railway to: the pre-deploy command in the
image, then the image's own command with the PORT the platform gives, answering the health
check path on that port (docs/deploy-railway.md). Railway itself cannot be reached from
here; its database and bucket are the stack's."""

from __future__ import annotations

import shlex
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack.conftest import Stack

ROOT = Path(__file__).resolve().parents[3]
PLATFORM_PORT = 18123


@pytest.fixture(scope="module")
def railway() -> dict[str, Any]:
    return tomllib.loads((ROOT / "railway.toml").read_text(encoding="utf-8"))


def _in_container(name: str, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", name, "python", "-c", code],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip


def test_the_image_migrates_then_serves_its_health_check_on_the_platform_port(
    stack: Stack, railway: dict[str, Any]
) -> None:
    deploy = railway["deploy"]
    base = stack.lib.project.base()
    for command in deploy["preDeployCommand"]:
        migrated = stack.compose([*base, "run", "--rm", "--no-deps", "app", *shlex.split(command)])
        assert migrated.ok, migrated.stderr

    name = f"{stack.isolated.project}-railway-like"
    started = stack.compose(
        [
            *base,
            "run",
            "--detach",
            "--no-deps",
            "--name",
            name,
            "-e",
            f"PORT={PLATFORM_PORT}",
            "app",
        ]
    )
    assert started.ok, started.stderr
    try:
        url = f"http://127.0.0.1:{PLATFORM_PORT}{deploy['healthcheckPath']}"
        probe = f"import urllib.request as u; print(u.urlopen({url!r}, timeout=3).status)"
        deadline, answer = time.monotonic() + deploy["healthcheckTimeout"], None
        while time.monotonic() < deadline:
            answer = _in_container(name, probe)
            if answer.stdout.strip() == "200":
                break
            time.sleep(1)
        assert answer is not None and answer.stdout.strip() == "200", answer
        default_port = _in_container(
            name, "import socket; socket.create_connection(('127.0.0.1', 8000), timeout=2)"
        )
        assert default_port.returncode != 0, "gunicorn still listens on 8000 as well"
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)
