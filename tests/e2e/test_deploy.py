"""`inv deploy` against the session's sandbox VM, in order: bad input changes nothing, a
first deploy, a second version switched under load, a version whose /ready never passes
and one that fails its smoke checks after the switch (both rolled back under load), two
deploys at once, and a stale lock. Every request polled through nginx must answer 200, on
its first try: nginx is not reloaded by these deploys (their nginx config never changes),
so nothing closes the poller's keep-alive connection (deploy_support.Poller)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from shipyard.config import PROJECT_ROOT
from shipyard.deploy.layers import REGISTRY_ROOT
from shipyard.deploy.plan import NGINX_WORKERS
from shipyard.images.app import read_build_info
from shipyard.remote import LocalRunner
from tests.e2e.deploy_support import (
    Poller,
    build_app_version,
    build_derived,
    deploy,
    on_vm,
    served_version,
    start_deploy,
)
from tests.e2e.support import IsolatedSandbox
from tests.integration.support import run_inv

ROOT = "/srv/docstore"
READY_TIMEOUT = "20"
NOREADY = "0.3.0-noready"
MISLABELLED = "0.4.0-mislabelled"
ENV_FILE_OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_ENV_FILE"


@pytest.fixture(scope="module")
def next_version(sandbox: IsolatedSandbox) -> Iterator[str]:
    """The checkout's app stamped 0.2.0 (built with a build arg); the images this module
    builds are removed at its end."""
    tag = build_app_version(sandbox, "0.2.0")
    yield tag
    for built in (tag, NOREADY, MISLABELLED):
        subprocess.run(["docker", "image", "rm", f"docstore-app:{built}"], capture_output=True)


def releases(sandbox: IsolatedSandbox) -> list[str]:
    listing = on_vm(sandbox, "ls", "-1", f"{ROOT}/releases").stdout.split()
    return sorted(name for name in listing if not name.startswith("."))


def audit_lines(sandbox: IsolatedSandbox) -> list[dict]:
    text = on_vm(sandbox, "cat", f"{ROOT}/audit.log").stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def nginx_workers(sandbox: IsolatedSandbox) -> list[str]:
    """The pids of the VM's nginx workers (a reload replaces them)."""
    argv = ["docker", "exec", "docstore-nginx-1", "sh", "-c", NGINX_WORKERS]
    pids = on_vm(sandbox, *argv).stdout.split()
    assert pids, "no nginx worker found"
    return sorted(pids)


def local_registry_tags() -> set[str]:
    """The `repository:tag`s left in the deployer's local registry (on disk)."""
    repositories = REGISTRY_ROOT / "data/docker/registry/v2/repositories"
    return {
        f"{tag.parent.parent.parent.relative_to(repositories)}:{tag.name}"
        for tag in repositories.glob("**/_manifests/tags/*")
    }


def app_containers(sandbox: IsolatedSandbox) -> list[str]:
    argv = ["docker", "ps", "--filter", "label=com.docker.compose.service=app"]
    return on_vm(sandbox, *argv, "--format", "{{.Names}}").stdout.split()


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error:` line, which must also be the last line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    return errors[0]


def test_bad_input_exits_2_and_changes_nothing(sandbox: IsolatedSandbox, tmp_path) -> None:
    unknown = run_inv("deploy", "--env", "nowhere", env=sandbox.overrides())
    assert unknown.returncode == 2
    assert "unknown environment 'nowhere'" in one_line_error(unknown)

    missing = tmp_path / "missing.env"
    overrides = {**sandbox.overrides(), ENV_FILE_OVERRIDE: str(missing)}
    result = run_inv("deploy", "--env", "sandbox", env=overrides)
    assert result.returncode == 2
    assert f"{missing}: no such file" in one_line_error(result)

    invalid = tmp_path / "invalid.env"
    text = sandbox.env_file.read_text(encoding="utf-8")
    invalid.write_text(text.replace("APP_ENV=sandbox", "APP_ENV=staging"), encoding="utf-8")
    invalid.chmod(0o600)
    overrides[ENV_FILE_OVERRIDE] = str(invalid)
    result = run_inv("deploy", "--env", "sandbox", env=overrides)
    assert result.returncode == 2
    assert f"{invalid}: " in one_line_error(result)

    dry = deploy(sandbox, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "migrations" in dry.stdout and "nothing was changed" in dry.stdout

    assert on_vm(sandbox, "test", "-e", ROOT).returncode == 1, "the VM was changed"


def test_first_deploy_serves_the_checkout_through_nginx(sandbox: IsolatedSandbox) -> None:
    result = deploy(sandbox)
    assert result.returncode == 0, result.stderr
    build = read_build_info(PROJECT_ROOT, LocalRunner(PROJECT_ROOT))
    assert served_version(sandbox) == build.version
    (release,) = releases(sandbox)
    current = on_vm(sandbox, "readlink", f"{ROOT}/current").stdout.strip()
    assert current == f"releases/{release}"
    assert on_vm(sandbox, "stat", "-c", "%a", f"{ROOT}/shared/.env").stdout.strip() == "600"
    facts = json.loads(on_vm(sandbox, "cat", f"{ROOT}/releases/{release}/release.json").stdout)
    assert facts["git_sha"] == build.git_sha
    (line,) = audit_lines(sandbox)
    assert line["result"] == "ok" and line["release"] == release and line["who"]
    assert on_vm(sandbox, "test", "-e", f"{ROOT}/deploy.lock").returncode == 1


def test_second_version_switches_with_no_failed_request(
    sandbox: IsolatedSandbox, next_version: str
) -> None:
    workers = nginx_workers(sandbox)
    with Poller(sandbox.public_url) as poller:
        result = deploy(sandbox, "--version", next_version)
        time.sleep(1)
    assert result.returncode == 0, result.stderr
    assert nginx_workers(sandbox) == workers, "nginx was reloaded: its config did not change"
    assert "through the local registry" in result.stderr, "layer delivery was not used"
    assert local_registry_tags() == {f"docstore-app:{next_version}"}, "older images were kept"
    poller.assert_none_failed()
    assert len(poller.statuses) > 50
    assert served_version(sandbox) == "0.2.0"
    assert len(app_containers(sandbox)) == 1
    assert len(releases(sandbox)) == 2


def test_version_never_ready_is_rolled_back_while_the_old_serves(
    sandbox: IsolatedSandbox, next_version: str
) -> None:
    # A real image whose /ready cannot pass: its process is pointed at a closed port.
    tag = build_derived(
        next_version,
        NOREADY,
        "LABEL org.opencontainers.image.version=0.3.0\nENV APP_VERSION=0.3.0\n"
        'CMD ["sh", "-c", "POSTGRES_PORT=1 exec gunicorn -c gunicorn.conf.py docstore.main:app"]',
    )
    before = releases(sandbox)
    with Poller(sandbox.public_url) as poller:
        result = deploy(sandbox, "--version", tag, "--ready-timeout", READY_TIMEOUT)
    assert result.returncode == 1, result.stderr
    assert "was not ready within 20 s" in result.stderr
    assert "is still serving" in result.stderr
    assert "last log lines of docstore-app-" in result.stderr
    poller.assert_none_failed()
    assert poller.versions == {"0.2.0"}
    assert releases(sandbox) == before
    assert len(app_containers(sandbox)) == 1
    assert audit_lines(sandbox)[-1]["result"] == "failed"


def test_smoke_failure_after_the_switch_moves_traffic_back(
    sandbox: IsolatedSandbox, next_version: str
) -> None:
    # Ready, but it reports a version other than its label: the smoke checks catch it
    # after nginx already points at it.
    tag = build_derived(
        next_version,
        MISLABELLED,
        "LABEL org.opencontainers.image.version=0.4.0\nENV APP_VERSION=0.4.0-wrong",
    )
    with Poller(sandbox.public_url) as poller:
        result = deploy(sandbox, "--version", tag)
    assert result.returncode == 1, result.stderr
    assert "smoke checks failed" in result.stderr and "is still serving" in result.stderr
    poller.assert_none_failed()
    assert served_version(sandbox) == "0.2.0"
    assert len(app_containers(sandbox)) == 1


def test_two_deploys_at_once_one_is_refused(sandbox: IsolatedSandbox) -> None:
    before, audited = releases(sandbox), len(audit_lines(sandbox))
    first, second = start_deploy(sandbox), start_deploy(sandbox)
    outcomes = sorted(
        (process.wait(timeout=600), process.stderr.read()) for process in (first, second)
    )
    (ok, _), (refused, why) = outcomes
    assert (ok, refused) == (0, 3), outcomes
    assert "sandbox is locked by" in why
    assert len(releases(sandbox)) == len(before) + 1
    assert len(audit_lines(sandbox)) == audited + 1


def test_a_stale_lock_is_reported_and_removed_only_with_force(sandbox: IsolatedSandbox) -> None:
    owner = '{"owner": "ghost@old-laptop", "since": "2026-01-01T00:00:00+00:00", "version": "9"}'
    lock = f"{ROOT}/deploy.lock"
    on_vm(sandbox, "sh", "-c", f"mkdir {lock} && echo '{owner}' > {lock}/owner.json")
    refused = deploy(sandbox)
    assert refused.returncode == 3
    assert "locked by ghost@old-laptop" in one_line_error(refused) and "STALE" in refused.stderr
    status = run_inv("lock.status", "--env", "sandbox", env=sandbox.overrides())
    assert "ghost@old-laptop" in status.stdout
    assert run_inv("lock.release", "--env", "sandbox", env=sandbox.overrides()).returncode == 3
    forced = run_inv("lock.release", "--env", "sandbox", "--force", env=sandbox.overrides())
    assert forced.returncode == 0, forced.stderr
    assert on_vm(sandbox, "test", "-e", f"{ROOT}/deploy.lock").returncode == 1


def test_a_killed_deploy_leaves_the_old_release_serving_and_the_next_takes_over(
    sandbox: IsolatedSandbox, next_version: str
) -> None:
    before, serving = releases(sandbox), served_version(sandbox)
    with Poller(sandbox.public_url) as poller:
        client = start_deploy(sandbox, "--version", next_version)
        # Killed once its new app container passed the gate, before nginx moves to it.
        seen = [line for line in _lines_until(client, "is healthy and ready")]
        client.kill()
        client.wait(timeout=30)
        time.sleep(3)
    assert "is healthy and ready" in seen[-1], seen
    poller.assert_none_failed()
    assert poller.versions == {serving}
    assert len(app_containers(sandbox)) == 2, "the killed deploy's container should be left"
    status = run_inv("lock.status", "--env", "sandbox", env=sandbox.overrides())
    assert "(holder process gone)" in status.stdout, status.stdout

    result = deploy(sandbox, "--version", next_version)
    assert result.returncode == 0, result.stderr
    assert "(holder process gone): taking it over" in result.stderr
    assert "stale lock from " in result.stderr
    assert "removed unfinished release" in result.stderr
    assert served_version(sandbox) == "0.2.0"
    assert len(app_containers(sandbox)) == 1
    assert len(releases(sandbox)) == len(before) + 1
    listing = on_vm(sandbox, "ls", "-A", f"{ROOT}/releases").stdout.split()
    assert not [name for name in listing if name.startswith(".tmp-")], listing
    takeover, deployed = audit_lines(sandbox)[-2:]
    assert takeover["action"] == "lock-takeover" and "holder process gone" in takeover["detail"]
    assert deployed["result"] == "ok"


def _lines_until(process: subprocess.Popen[str], marker: str) -> Iterator[str]:
    """The process's stderr lines up to the one holding `marker` (bounded by its exit)."""
    assert process.stderr is not None
    for line in process.stderr:
        yield line
        if marker in line:
            return


def test_rollback_serves_the_previous_release_with_no_failed_request(
    sandbox: IsolatedSandbox,
) -> None:
    checkout = read_build_info(PROJECT_ROOT, LocalRunner(PROJECT_ROOT)).version
    current = on_vm(sandbox, "readlink", f"{ROOT}/current").stdout.strip()
    dry = run_inv("rollback", "--env", "sandbox", "--dry-run", env=sandbox.overrides())
    assert dry.returncode == 0, dry.stderr
    assert "Roll back sandbox from" in dry.stdout and "nothing was changed" in dry.stdout
    assert on_vm(sandbox, "readlink", f"{ROOT}/current").stdout.strip() == current

    with Poller(sandbox.public_url) as poller:
        result = run_inv("rollback", "--env", "sandbox", env=sandbox.overrides())
        time.sleep(1)
    assert result.returncode == 0, result.stderr
    poller.assert_none_failed()
    assert len(poller.statuses) > 50
    assert served_version(sandbox) == checkout
    assert len(app_containers(sandbox)) == 1
    now = on_vm(sandbox, "readlink", f"{ROOT}/current").stdout.strip()
    assert now != current and now in {f"releases/{name}" for name in releases(sandbox)}
    line = audit_lines(sandbox)[-1]
    assert (line["action"], line["result"], line["version"]) == ("rollback", "ok", checkout)


def _running_services(sandbox: IsolatedSandbox) -> tuple[dict, dict]:
    result = run_inv("status", "--env", "sandbox", "--json", env=sandbox.overrides())
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    running = {row["service"]: row for row in status["containers"] if row["state"] == "running"}
    return status, running


def test_status_ps_and_logs_read_the_vm(sandbox: IsolatedSandbox) -> None:
    current = on_vm(sandbox, "readlink", f"{ROOT}/current").stdout.strip()
    status, services = _running_services(sandbox)
    assert f"releases/{status['current']}" == current
    assert status["lock"] == "free" and status["disk_free_mb"] > 0
    assert {"app", "db", "nginx", "objectstore"} <= set(services)
    assert services["app"]["status"].startswith("Up ")
    # The deploy's gate probes /health and /ready itself; Docker's own first health check
    # comes one interval (5 s) after the start, and must agree.
    deadline = time.monotonic() + 30
    while services["app"]["health"] != "healthy" and time.monotonic() < deadline:
        assert services["app"]["health"] == "health: starting", services["app"]
        time.sleep(1)
        status, services = _running_services(sandbox)
    assert services["app"]["health"] == "healthy", services["app"]

    ps = run_inv("ps", "--env", "sandbox", env=sandbox.overrides())
    assert ps.returncode == 0 and "docstore-nginx-1" in ps.stdout, ps.stderr
    logs = run_inv(
        "logs", "--env", "sandbox", "--service", "nginx", "--tail", "50", env=sandbox.overrides()
    )
    assert logs.returncode == 0, logs.stderr
    assert '"uri":"/version"' in logs.stdout


def test_a_failing_pre_deploy_hook_changes_nothing(sandbox: IsolatedSandbox, tmp_path) -> None:
    hook = tmp_path / "pre-deploy"
    hook.write_text('#!/bin/sh\necho "facts: $SHIPYARD_ENV $SHIPYARD_PREVIOUS_RELEASE"\nexit 7\n')
    hook.chmod(0o755)
    current = on_vm(sandbox, "readlink", f"{ROOT}/current").stdout.strip()
    before = (releases(sandbox), len(audit_lines(sandbox)), app_containers(sandbox))
    overrides = {**sandbox.overrides(), "SHIPYARD_HOOKS_DIR": str(tmp_path)}
    result = run_inv("deploy", "--env", "sandbox", env=overrides)
    assert result.returncode == 1, result.stderr
    assert f"facts: sandbox {current.removeprefix('releases/')}" in result.stderr
    assert "failed (exit 7): nothing was changed" in one_line_error(result)
    assert (releases(sandbox), len(audit_lines(sandbox)), app_containers(sandbox)) == before
    assert on_vm(sandbox, "test", "-e", f"{ROOT}/deploy.lock").returncode == 1


def test_an_nginx_without_the_socket_volume_is_refused_before_any_change(
    sandbox: IsolatedSandbox,
) -> None:
    # What a VM set up by an older Shipyard has: nginx created without the app sockets'
    # volume. Stand in for it with a container carrying the compose labels and no mounts.
    before = (releases(sandbox), len(audit_lines(sandbox)), app_containers(sandbox))
    docker = ["docker", "exec", "--user", "deploy", sandbox.container, "docker"]
    subprocess.run([*docker, "stop", "docstore-nginx-1"], capture_output=True, check=True)
    labels = ["com.docker.compose.project=docstore", "com.docker.compose.service=nginx"]
    old_nginx = [
        *docker,
        "run",
        "--detach",
        "--name",
        "docstore-nginx-old",
        *(argument for label in labels for argument in ("--label", label)),
        "--entrypoint",
        "sleep",
        "shipyard-local/nginx:1.22",
        "600",
    ]
    subprocess.run(old_nginx, capture_output=True, check=True)
    try:
        result = deploy(sandbox)
        assert result.returncode == 2, result.stderr
        error = one_line_error(result)
        assert "nginx does not mount /run/app" in error and "recreate it once" in error
        assert (releases(sandbox), len(audit_lines(sandbox)), app_containers(sandbox)) == before
        assert on_vm(sandbox, "test", "-e", f"{ROOT}/deploy.lock").returncode == 1
    finally:
        subprocess.run([*docker, "rm", "--force", "docstore-nginx-old"], capture_output=True)
        subprocess.run([*docker, "start", "docstore-nginx-1"], capture_output=True, check=True)


def test_a_restarted_app_container_serves_again_through_its_socket(
    sandbox: IsolatedSandbox,
) -> None:
    # A crash or a reboot restarts the container: same hostname, so the live socket's
    # target comes back when gunicorn binds again (it replaces the stale socket file).
    (app,) = app_containers(sandbox)
    assert on_vm(sandbox, "docker", "restart", app).returncode == 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            served_version(sandbox)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        pytest.fail(f"nothing answered through nginx within 60 s of restarting {app}")
    link = on_vm(sandbox, "docker", "exec", app, "readlink", "/run/app/live.sock").stdout
    hostname = on_vm(sandbox, "docker", "exec", app, "cat", "/etc/hostname").stdout
    assert link.strip() == f"{hostname.strip()}.sock"


def test_a_deploy_killed_after_the_switch_is_undone_by_the_next_under_load(
    sandbox: IsolatedSandbox, next_version: str
) -> None:
    serving = served_version(sandbox)
    with Poller(sandbox.public_url) as poller:
        client = start_deploy(sandbox, "--version", next_version)
        # Killed once traffic is on its new container, before the old one is stopped.
        seen = [line for line in _lines_until(client, "nginx routes to")]
        client.kill()
        client.wait(timeout=30)
        (routed,) = [name for name in app_containers(sandbox) if name in seen[-1]]
        result = deploy(sandbox, "--version", next_version)
        time.sleep(1)
    assert "nginx routes to" in seen[-1], seen
    assert result.returncode == 0, result.stderr
    assert f"nginx routed back from {routed} to " in result.stderr
    assert f"stopped {routed} (not the current release's)" in result.stderr
    poller.assert_none_failed()
    assert serving in poller.versions and served_version(sandbox) == "0.2.0"
    assert len(app_containers(sandbox)) == 1
