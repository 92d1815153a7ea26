"""The monitoring profile as a new user runs it: `inv setup`, then `inv monitoring.up`
beside the stack (Debian stand-ins where no registry answers), every target up in
`inv monitoring.status --json`, no monitoring port beyond 127.0.0.1, and `inv alerts.test`
reaching Alertmanager through its real route."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.integration import support
from tests.integration.support import IsolatedLocal, free_port, run_inv

STATUS_TIMEOUT = 240


def docker_lines(*argv: str) -> list[str]:
    result = subprocess.run(["docker", *argv], capture_output=True, text=True, check=True)
    return result.stdout.split()


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IsolatedLocal]:
    stack = IsolatedLocal(
        project=support.test_project("docstore-mon"),
        env_file=tmp_path_factory.mktemp("monitoring") / ".env",
        port=free_port(),
    )
    try:
        setup = stack.setup()
        assert setup.returncode == 0, f"inv setup failed:\n{setup.stdout}\n{setup.stderr}"
        up = run_inv("monitoring.up", env=stack.overrides())
        assert up.returncode == 0, f"inv monitoring.up failed:\n{up.stdout}\n{up.stderr}"
        yield stack
    finally:
        run_inv("down", "--volumes", "--yes", env=stack.overrides())
        support.remove_project(stack.project)  # the monitoring profile's volumes too


def status(isolated: IsolatedLocal) -> dict:
    result = run_inv("monitoring.status", "--json", env=isolated.overrides(), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_every_target_is_up(isolated: IsolatedLocal) -> None:
    report = support.wait_all_targets_up(lambda: status(isolated), STATUS_TIMEOUT)
    jobs = {target["job"] for target in report["targets"]}
    assert jobs == {"prometheus", "alertmanager", "app", "postgres", "node", "blackbox",
                    "blackbox-http", "nginx"}  # fmt: skip


def test_no_monitoring_port_beyond_loopback(isolated: IsolatedLocal) -> None:
    label = f"label=com.docker.compose.project={isolated.project}"
    containers = docker_lines("ps", "--quiet", "--filter", label)
    bindings = []
    for container in containers:
        ports = json.loads(docker_lines("inspect", "--format", "{{json .NetworkSettings.Ports}}",
                                        container)[0])  # fmt: skip
        bindings += [b["HostIp"] for mapped in (ports or {}).values() for b in (mapped or [])]
    assert bindings, "nothing published at all"
    assert set(bindings) <= {"127.0.0.1"}, bindings


def test_alerts_test_reaches_alertmanager(isolated: IsolatedLocal) -> None:
    sent = run_inv("alerts.test", env=isolated.overrides(), timeout=120)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    label = f"label=com.docker.compose.project={isolated.project}"
    service = "label=com.docker.compose.service=alertmanager"
    container = docker_lines("ps", "--quiet", "--filter", label, "--filter", service)[0]
    query = subprocess.run(
        ["docker", "exec", container, "amtool", "alert", "query", "alertname=ShipyardTestAlert",
         "--alertmanager.url=http://127.0.0.1:9093"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "ShipyardTestAlert" in query.stdout


def test_a_bad_severity_is_refused_with_exit_2(isolated: IsolatedLocal) -> None:
    result = run_inv("alerts.test", "--severity", "loud", env=isolated.overrides())
    assert result.returncode == 2
    assert "warning or critical" in result.stdout + result.stderr


def test_inv_up_again_keeps_the_profile_running(isolated: IsolatedLocal) -> None:
    """`inv up` runs `docker compose up --remove-orphans`: the profile's containers must not
    be taken for orphans (they are the same containers afterwards)."""
    label = f"label=com.docker.compose.project={isolated.project}"
    profile = [
        f"label=com.docker.compose.service={name}" for name in ("prometheus", "alertmanager")
    ]
    before = {f: docker_lines("ps", "--quiet", "--filter", label, "--filter", f) for f in profile}
    assert all(before.values()), f"the profile is not running: {before}"
    up = run_inv("up", env=isolated.overrides(), timeout=600)
    assert up.returncode == 0, up.stdout + up.stderr
    after = {f: docker_lines("ps", "--quiet", "--filter", label, "--filter", f) for f in profile}
    assert after == before, "inv up removed or recreated the monitoring profile's containers"
