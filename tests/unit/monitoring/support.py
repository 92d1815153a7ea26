"""Helpers of the monitoring unit tests: the real promtool and amtool (Debian's
prometheus and prometheus-alertmanager, installed by scripts/bootstrap)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def tool(name: str) -> str:
    """The path of `name`, or a loud failure that says how to get it (never a skip)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run ./scripts/bootstrap", pytrace=False)
    return path


def run_tool(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a checker; the result, whatever its exit code."""
    return subprocess.run(
        [tool(argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )
