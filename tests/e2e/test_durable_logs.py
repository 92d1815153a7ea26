"""Logs that outlive containers, on the sandbox VM: a request with a known X-Request-ID,
then a deploy that removes the app container that served it, and `inv logs --env sandbox
--request-id` still finds that container's line and nginx's (rsyslog copied them from
Docker's json-file logs into /var/log/shipyard/). The filters, logrotate's rotation and a
stopped collector that catches up are shown on the same lines.

If the VM has no release yet, this module deploys one and removes it at its end."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest

from shipyard.vm.releases import current_release
from shipyard.vm.target import Target
from tests.e2e.deploy_support import deploy, on_vm, undeploy
from tests.e2e.support import IsolatedSandbox
from tests.integration.support import run_inv

STORE_WAIT_SECONDS = 30


@dataclass(frozen=True)
class Logged:
    """A request sent before the redeploy, and the app container that served it."""

    sandbox: IsolatedSandbox
    request_id: str
    container: str


def app_containers(sandbox: IsolatedSandbox, *, all_states: bool = False) -> list[str]:
    argv = ["docker", "ps", "--filter", "label=com.docker.compose.service=app"]
    argv += ["--all"] if all_states else []
    return on_vm(sandbox, *argv, "--format", "{{.Names}}").stdout.split()


def as_root(sandbox: IsolatedSandbox, script: str) -> subprocess.CompletedProcess[str]:
    """A shell script run as root on the VM (out of band: docker exec)."""
    argv = ["docker", "exec", sandbox.container, "sh", "-c", script]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def request(sandbox: IsolatedSandbox, request_id: str) -> None:
    response = httpx.get(
        f"{sandbox.public_url}/version", headers={"X-Request-ID": request_id}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == request_id


def logs(sandbox: IsolatedSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv("logs", "--env", "sandbox", *args, env=sandbox.overrides(), timeout=120)


def logs_json(sandbox: IsolatedSandbox, *args: str) -> list[dict]:
    result = logs(sandbox, "--json", *args)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def wait_for_lines(sandbox: IsolatedSandbox, request_id: str, services: set[str]) -> list[dict]:
    """The stored lines of `request_id`, once every one of `services` has one."""
    deadline = time.monotonic() + STORE_WAIT_SECONDS
    while True:
        lines = logs_json(sandbox, "--request-id", request_id)
        if {line["service"] for line in lines} >= services or time.monotonic() > deadline:
            return lines
        time.sleep(1)


@pytest.fixture(scope="module")
def logged(sandbox: IsolatedSandbox) -> Iterator[Logged]:
    """A request through nginx to the serving app container, then a deploy that removes
    that container. The VM is left as found (a release deployed here is removed)."""
    env = sandbox.environment()
    with sandbox.runner() as runner:
        already = current_release(Target(env, runner)) is not None
    if not already:
        first = deploy(sandbox)
        assert first.returncode == 0, first.stderr
    (container,) = app_containers(sandbox)
    request_id = f"e2e-logs-{uuid.uuid4().hex}"
    request(sandbox, request_id)
    again = deploy(sandbox)
    assert again.returncode == 0, again.stderr
    yield Logged(sandbox, request_id, container)
    if not already:
        undeploy(sandbox)


def test_a_removed_containers_line_is_found_by_its_request_id(logged: Logged) -> None:
    assert logged.container not in app_containers(logged.sandbox, all_states=True)
    lines = wait_for_lines(logged.sandbox, logged.request_id, {"app", "nginx"})
    by_service = {line["service"]: line for line in lines}
    assert set(by_service) == {"app", "nginx"}, lines
    app = by_service["app"]
    assert app["container"] == logged.container
    assert app["request_id"] == logged.request_id
    assert "/version" in app["message"]
    assert by_service["nginx"]["request_id"] == logged.request_id

    human = logs(logged.sandbox, "--request-id", logged.request_id)
    assert human.returncode == 0, human.stderr
    assert logged.container in human.stdout and logged.request_id in human.stdout


def test_since_until_service_and_grep_select_lines(logged: Logged) -> None:
    sandbox, request_id = logged.sandbox, logged.request_id
    (line,) = logs_json(sandbox, "--request-id", request_id, "--service", "app")
    assert line["service"] == "app"
    (nginx,) = logs_json(sandbox, "--grep", request_id, "--service", "nginx")
    assert nginx["request_id"] == request_id

    stamp = datetime.fromisoformat(line["time"][:19] + "+00:00")
    around = [
        (stamp - timedelta(seconds=2)).isoformat(),
        (stamp + timedelta(seconds=2)).isoformat(),
    ]
    inside = logs_json(sandbox, "--since", around[0], "--until", around[1], "--tail", "0")
    assert request_id in {found["request_id"] for found in inside}
    before = logs_json(sandbox, "--until", around[0], "--grep", request_id)
    assert before == []
    after = logs_json(sandbox, "--since", around[1], "--grep", request_id)
    assert after == []
    # a duration counts back from now: the request was sent minutes ago at most
    recent = logs_json(sandbox, "--since", "30m", "--request-id", request_id)
    assert {found["service"] for found in recent} == {"app", "nginx"}


def test_rotated_files_are_still_read_and_new_lines_go_to_the_fresh_file(
    logged: Logged,
) -> None:
    sandbox = logged.sandbox
    rotated = as_root(
        sandbox, "logrotate --force /etc/logrotate.d/shipyard && ls /var/log/shipyard"
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "app.log.1" in rotated.stdout.split()
    fresh = f"e2e-logs-{uuid.uuid4().hex}"
    request(sandbox, fresh)
    assert {line["service"] for line in wait_for_lines(sandbox, fresh, {"app", "nginx"})} == {
        "app",
        "nginx",
    }
    written = as_root(sandbox, f"grep -l {fresh} /var/log/shipyard/app.log")
    assert written.returncode == 0, "rsyslog did not reopen app.log after the rotation"
    old = logs_json(sandbox, "--request-id", logged.request_id, "--service", "app")
    assert [line["container"] for line in old] == [logged.container]


def test_lines_survive_dockers_own_log_rotation(logged: Logged) -> None:
    """A container whose json-file log Docker rotates every few lines (max-size 1k), removed
    when it exits: every line it printed is in the store, in order."""
    sandbox = logged.sandbox
    service = f"e2e-rotation-{uuid.uuid4().hex[:8]}"
    image = on_vm(sandbox, "docker", "inspect", "--format", "{{.Config.Image}}", "docstore-nginx-1")
    assert image.returncode == 0, image.stderr
    script = 'for i in $(seq 1 60); do echo "line $i of 60 $(printf "%080d" 0)"; sleep 0.05; done'
    ran = on_vm(
        sandbox,
        *("docker", "run", "--rm", "--label", f"com.docker.compose.service={service}"),
        *("--log-driver", "json-file", "--log-opt", "max-size=1k", "--log-opt", "max-file=2"),
        *("--log-opt", 'tag={{index .ContainerLabels "com.docker.compose.service"}}/{{.Name}}'),
        *("--entrypoint", "sh", image.stdout.strip(), "-c", script),
    )
    assert ran.returncode == 0, ran.stderr
    try:
        deadline = time.monotonic() + STORE_WAIT_SECONDS
        while True:
            lines = logs_json(sandbox, "--service", service, "--tail", "0")
            if len(lines) >= 60 or time.monotonic() > deadline:
                break
            time.sleep(1)
        numbers = [int(line["message"].split()[1]) for line in lines]
        assert numbers == list(range(1, 61)), f"missing: {sorted(set(range(1, 61)) - set(numbers))}"
    finally:
        as_root(sandbox, f"rm -f /var/log/shipyard/{service}.log*")


def test_a_stopped_collector_blocks_nothing_and_catches_up(logged: Logged) -> None:
    sandbox = logged.sandbox
    stopped = as_root(sandbox, 'kill "$(cat /run/rsyslogd.pid)"; sleep 1; ! pgrep -x rsyslogd')
    assert stopped.returncode == 0, stopped.stderr
    try:
        missed = f"e2e-logs-{uuid.uuid4().hex}"
        request(sandbox, missed)  # served and logged (json-file) while nothing collects
        assert logs_json(sandbox, "--request-id", missed) == []
    finally:
        started = as_root(sandbox, "rsyslogd 2>/dev/null; pgrep -x rsyslogd")
        assert started.returncode == 0, started.stderr
    lines = wait_for_lines(sandbox, missed, {"app", "nginx"})
    assert {line["service"] for line in lines} == {"app", "nginx"}


def test_filters_are_refused_on_the_local_stack_and_with_follow(logged: Logged) -> None:
    local = run_inv("logs", "--request-id", "x", env=logged.sandbox.overrides())
    assert local.returncode == 2
    assert "the durable log store runs on VMs only" in local.stderr
    follow = logs(logged.sandbox, "--follow", "--grep", "x")
    assert follow.returncode == 2
    bad = logs(logged.sandbox, "--since", "yesterday")
    assert bad.returncode == 2 and "cannot read 'yesterday' as a time" in bad.stderr


def test_a_vm_without_the_store_falls_back_or_names_the_fix(logged: Logged) -> None:
    """A VM provisioned before the store existed: plain `inv logs` shows the current
    release's containers with a warning; a filter exits 2 and names `inv provision`."""
    sandbox = logged.sandbox
    # A file where the directory was: rsyslog cannot recreate it meanwhile.
    moved = as_root(
        sandbox, "mv /var/log/shipyard /var/log/shipyard.moved && touch /var/log/shipyard"
    )
    assert moved.returncode == 0, moved.stderr
    try:
        plain = logs(sandbox, "--service", "nginx", "--tail", "20")
        filtered = logs(sandbox, "--request-id", logged.request_id)
    finally:
        back = as_root(
            sandbox, "rm /var/log/shipyard && mv /var/log/shipyard.moved /var/log/shipyard"
        )
        assert back.returncode == 0, back.stderr
    assert plain.returncode == 0, plain.stderr
    assert "no durable logs on the VM" in plain.stderr
    assert '"uri":"/version"' in plain.stdout
    assert filtered.returncode == 2
    assert "inv provision --env sandbox" in filtered.stderr
