"""`inv smoke` against an isolated stack: passing, with /ready broken, and unreachable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from shipyard.config import load_config
from shipyard.images.resolve import current_images
from shipyard.stack import open_stack
from tests.integration.gates.conftest import GatesStack
from tests.integration.support import free_port, run_inv

CHECKS = (
    "health",
    "ready",
    "version",
    "documents round trip",
    "security headers",
    "oversized body is refused",
    "metrics are not public",
    "rate limit answers 429 with retry after",
    "request id is passed through",
    "unknown origins get no cors headers",
    "text is gzipped with vary",
    "writes meet the stricter limit with retry after",
)


def test_setup_runs_the_same_suite_without_the_burst(gates_stack):
    for check in CHECKS[:7]:
        assert f"smoke: {check}:" in gates_stack.setup_output
    assert "rate limit" not in gates_stack.setup_output


def test_smoke_passes_on_the_stack_with_one_line_per_check_and_junit(gates_stack, tmp_path):
    junit = tmp_path / "smoke.xml"
    result = run_inv("smoke", "--env", "local", "--junit", str(junit), env=gates_stack.overrides())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for check in CHECKS:
        assert any(line.startswith(f"ok    {check}: ") for line in lines), result.stdout
    assert "n/a   https redirect, HSTS and certificate" in result.stdout
    assert "n/a   CORS for an allowed origin (no CORS_ORIGINS)" in result.stdout
    assert f"{len(CHECKS)} passed, 0 failed" in result.stdout
    tree = ET.parse(junit)  # noqa: S314 - our own report
    cases = {case.get("name") for case in tree.iter("testcase")}
    assert len(cases) == len(CHECKS)


def test_smoke_checks_the_version_deploy_passes_in(gates_stack):
    result = run_inv(
        "smoke", "--env", "local", "--version", "9.9.9", "--no-burst", env=gates_stack.overrides()
    )
    assert result.returncode == 1
    assert "FAIL  version: version '" in result.stdout
    assert "expected '9.9.9'" in result.stdout
    assert "smoke checks failed against" in result.stderr


def test_smoke_fails_with_a_clear_list_when_ready_is_broken(gates_stack: GatesStack):
    config = load_config()
    stack = open_stack(gates_stack.isolated.environment(), config.app_name, current_images())
    stack.runner.run(stack.project.stop(["db"]), env=stack.variables).raise_for_status("stop db")
    try:
        result = run_inv("smoke", "--env", "local", "--no-burst", env=gates_stack.overrides())
    finally:
        stack.start(["db"])
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok    health: 200") for line in lines), result.stdout
    ready = next(line for line in lines if line.startswith("FAIL  ready:"))
    assert "/ready answered 503" in ready
    assert "database error" in ready
    assert "object_store ok" in ready
    assert "FAIL  documents round trip" in result.stdout
    assert "error: smoke checks failed against" in result.stderr
    assert "ready" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stdout + result.stderr


def test_smoke_against_nothing_lists_every_check_as_failed(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_inv("smoke", "--env", "local", "--url", url, "--junit", str(tmp_path / "j.xml"))
    assert result.returncode == 1
    assert "FAIL  health: " in result.stdout
    assert "ConnectError" in result.stdout or "refused" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
