"""The monitoring profile on the sandbox VM, deployed with the release, as a new user meets
it: `inv deploy` with MONITORING=true starts it, `inv monitoring.status --json` shows every
target up, no monitoring port listens beyond the VM's loopback, no receiver secret is in
`docker inspect` or a process's arguments, `inv alerts.test` goes through, a second deploy
keeps Prometheus's data and leaves a deploy marker, a rollback keeps the profile running
and `inv monitoring.up` restarts it from the current release, and a deploy with
MONITORING=false removes it (its data volume stays; `inv monitoring.up` then refuses)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from shipyard.monitoring.dashboards import DEPLOY_MARKER
from shipyard.monitoring.vm import SERVICES
from tests.e2e.deploy_support import build_app_version, on_vm
from tests.e2e.support import IsolatedSandbox
from tests.integration.support import run_inv, wait_all_targets_up

ROOT = "/srv/docstore"
ENV_FILE_OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_ENV_FILE"
STATUS_TIMEOUT = 150
RECEIVER_SECRETS = {
    "ALERT_PAGERDUTY_ROUTING_KEY": "e2e-pagerduty-routing-key-7f3a9c1d",
    "ALERT_SMTP_PASSWORD": "e2e-smtp-password-5b8e2f0a",
    "ALERT_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/e2e-slack-token-c4d1a7e9",
}
"""Every channel points at a closed port of Alertmanager's own loopback: nothing leaves."""
RECEIVERS = {
    "ALERT_EMAIL_TO": "ops@example.com",
    "ALERT_SMTP_SMARTHOST": "127.0.0.1:9",
    "ALERT_SMTP_USERNAME": "ops",
    "ALERT_PAGERDUTY_URL": "http://127.0.0.1:9/pagerduty",
    **RECEIVER_SECRETS,
}


@dataclass(frozen=True)
class Watched:
    """The session's VM deployed with the profile on, and how to reach it."""

    sandbox: IsolatedSandbox
    overrides: dict[str, str]
    first_scrape: float
    """A time (Unix seconds) when Prometheus already held samples, before a later deploy."""


def inv(watched: Watched, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv(*args, env=watched.overrides, timeout=900)


def containers(sandbox: IsolatedSandbox, service: str) -> list[str]:
    argv = ["docker", "ps", "--quiet", "--filter", f"label=com.docker.compose.service={service}"]
    return on_vm(sandbox, *argv).stdout.split()


def prometheus_query(sandbox: IsolatedSandbox, path: str) -> dict:
    """GET from Prometheus inside its container on the VM."""
    (container,) = containers(sandbox, "prometheus")
    url = f"http://127.0.0.1:9090{path}"
    result = on_vm(sandbox, "docker", "exec", container, "wget", "-q", "-O", "-", url)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def status(watched: Watched) -> dict:
    result = inv(watched, "monitoring.status", "--env", "sandbox", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def wait_all_up(watched: Watched) -> dict:
    return wait_all_targets_up(lambda: status(watched), STATUS_TIMEOUT)


@pytest.fixture(scope="module")
def watched(
    sandbox: IsolatedSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Watched]:
    """The checkout deployed with MONITORING=true and the receivers set (a copy of the
    session's env file); every target up. Afterwards the profile, its volumes and its
    images leave the VM, so the modules after this one find it as they expect."""
    env_file = tmp_path_factory.mktemp("monitoring") / ".env.sandbox"
    extra = "".join(f"{name}={value}\n" for name, value in RECEIVERS.items())
    env_file.write_text(sandbox.env_file.read_text() + "\nMONITORING=true\n" + extra)
    env_file.chmod(0o600)
    overrides = {**sandbox.overrides(), ENV_FILE_OVERRIDE: str(env_file)}
    try:
        result = run_inv("deploy", "--env", "sandbox", env=overrides, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "monitoring profile running" in result.stdout + result.stderr
        partial = Watched(sandbox, overrides, 0.0)
        wait_all_up(partial)
        yield Watched(sandbox, overrides, time.time())
    finally:
        script = (
            'for s in "$@"; do docker ps -aq --filter "label=com.docker.compose.service=$s"; '
            "done | xargs -r docker rm -f >/dev/null; "
            "docker volume rm docstore_prometheus-data docstore_alertmanager-data >/dev/null; "
            "docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "
            "'prometheus|alertmanager|exporter' | xargs -r docker image rm >/dev/null; true"
        )
        on_vm(sandbox, "sh", "-c", script, "sh", *SERVICES)


def test_every_target_of_the_profile_is_up(watched: Watched) -> None:
    report = wait_all_up(watched)
    jobs = {target["job"] for target in report["targets"]}
    assert {"prometheus", "alertmanager", "app", "postgres", "node", "blackbox",
            "blackbox-http", "nginx"} <= jobs  # fmt: skip
    for service in SERVICES:
        assert containers(watched.sandbox, service), f"{service} is not running on the VM"
    query = quote('probe_success{job="blackbox-http"}')
    probe = prometheus_query(watched.sandbox, f"/api/v1/query?query={query}")
    assert [r["value"][1] for r in probe["data"]["result"]] == ["1"], probe


def test_no_monitoring_port_listens_beyond_the_vms_loopback(watched: Watched) -> None:
    sandbox = watched.sandbox
    ports = on_vm(sandbox, "docker", "ps", "--format", "{{.Names}} {{.Ports}}").stdout
    public = {}
    for line in ports.splitlines():
        name, _, published = line.partition(" ")
        bindings = [p.strip() for p in published.split(",") if "->" in p]
        outside = [b for b in bindings if not b.startswith("127.0.0.1:")]
        if outside:
            public[name] = outside
    assert set(public) == {"docstore-nginx-1"}, public
    # The VM's own listening sockets (no `ss` in it: /proc/net/tcp, state 0A): beyond the
    # loopback, only sshd and nginx's published ports.
    listening = on_vm(sandbox, "sh", "-c", "cat /proc/net/tcp /proc/net/tcp6").stdout
    nginx_ports = {int(b.split("->")[0].rpartition(":")[2]) for b in public["docstore-nginx-1"]}
    beyond = set()
    for row in listening.splitlines()[1:]:
        fields = row.split()
        if len(fields) < 4 or fields[3] != "0A":
            continue
        address, _, port = fields[1].partition(":")
        if address in ("0100007F", "00000000000000000000000001000000"):
            continue
        beyond.add(int(port, 16))
    assert beyond <= {22, *nginx_ports}, f"listening beyond loopback: {sorted(beyond)}"


def test_no_receiver_secret_in_docker_inspect_or_process_arguments(watched: Watched) -> None:
    sandbox = watched.sandbox
    every = on_vm(sandbox, "docker", "ps", "--all", "--quiet").stdout.split()
    inspected = on_vm(sandbox, "docker", "inspect", *every).stdout
    processes = subprocess.run(
        ["docker", "exec", sandbox.container, "ps", "-eo", "args"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "alertmanager" in processes and "prometheus" in processes
    for name, value in RECEIVER_SECRETS.items():
        assert value not in inspected, f"{name} is in docker inspect"
        assert value not in processes, f"{name} is in a process's arguments on the VM"
    current = on_vm(sandbox, "readlink", f"{ROOT}/current").stdout.strip()
    rendered = subprocess.run(
        ["docker", "exec", sandbox.container, "sh", "-c",
         f"stat -c '%u %a %n' {ROOT}/{current}/secrets/monitoring/*"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    modes = {line.rpartition("/")[2]: line.split()[:2] for line in rendered.splitlines()}
    assert modes["alertmanager.yml"] == ["65534", "400"], rendered
    assert modes["grafana_admin_password"] == ["472", "400"], rendered


def test_alerts_test_goes_through_the_vms_alertmanager(watched: Watched) -> None:
    sent = inv(watched, "alerts.test", "--env", "sandbox", "--severity", "critical")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    (container,) = containers(watched.sandbox, "alertmanager")
    query = on_vm(
        watched.sandbox, "docker", "exec", container, "amtool", "alert", "query",
        "alertname=ShipyardTestAlert", "--alertmanager.url=http://127.0.0.1:9093",
    )  # fmt: skip
    assert query.returncode == 0 and "ShipyardTestAlert" in query.stdout, query.stderr


def test_node_exporter_reads_the_textfile_dir_inv_backup_writes(watched: Watched) -> None:
    metric = "shipyard_e2e_textfile_probe 1\n"
    path = f"{ROOT}/.shipyard/metrics/e2e_probe.prom"
    on_vm(watched.sandbox, "sh", "-c", f'printf "{metric}" > {path}.tmp && mv {path}.tmp {path}')
    (prometheus,) = containers(watched.sandbox, "prometheus")
    scraped = on_vm(
        watched.sandbox, "docker", "exec", prometheus,
        "wget", "-q", "-O", "-", "http://node-exporter:9100/metrics",
    ).stdout  # fmt: skip
    on_vm(watched.sandbox, "rm", "-f", path)
    assert "shipyard_e2e_textfile_probe 1" in scraped


def test_a_second_deploy_keeps_prometheus_data_and_marks_the_new_version(
    watched: Watched,
) -> None:
    sandbox = watched.sandbox
    (before,) = containers(sandbox, "prometheus")
    version = build_app_version(sandbox, "0.5.0")
    try:
        result = inv(watched, "deploy", "--env", "sandbox", "--version", version)
    finally:
        subprocess.run(["docker", "image", "rm", f"docstore-app:{version}"], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (after,) = containers(sandbox, "prometheus")
    assert after != before, "Prometheus was not recreated from the new release"
    old = prometheus_query(sandbox, f"/api/v1/query?query=up&time={watched.first_scrape:.3f}")[
        "data"
    ]["result"]
    assert old, "the samples from before the deploy are gone (the volume did not survive)"
    # The dashboard's deploy marker: a version that starts serving (within the last minute).
    deadline = time.monotonic() + 60
    marked: list[dict] = []
    while not marked and time.monotonic() < deadline:
        answer = prometheus_query(sandbox, f"/api/v1/query?query={quote(DEPLOY_MARKER.expr)}")
        marked = [r for r in answer["data"]["result"] if r["metric"]["version"] == "0.5.0"]
        if not marked:
            time.sleep(5)
    assert marked, "no deploy marker for version 0.5.0"


def test_a_rollback_keeps_the_profile_running(watched: Watched) -> None:
    before = {service: containers(watched.sandbox, service) for service in SERVICES}
    result = inv(watched, "rollback", "--env", "sandbox")
    assert result.returncode == 0, result.stdout + result.stderr
    after = {service: containers(watched.sandbox, service) for service in SERVICES}
    assert after == before, "the rollback touched the monitoring profile"
    # `inv monitoring.up` restarts it from the release now current (the rolled-back-to one).
    restarted = inv(watched, "monitoring.up", "--env", "sandbox")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    current = on_vm(watched.sandbox, "readlink", f"{ROOT}/current").stdout.strip()
    (prometheus,) = containers(watched.sandbox, "prometheus")
    mounts = on_vm(
        watched.sandbox, "docker", "inspect", "--format",
        "{{range .Mounts}}{{.Source}} {{end}}", prometheus,
    ).stdout  # fmt: skip
    assert f"{ROOT}/{current}/secrets/monitoring/prometheus.yml" in mounts.split()
    assert status(watched)["targets"], "Prometheus restarted without its targets"


def test_a_deploy_with_monitoring_off_removes_the_profile_and_keeps_its_data(
    watched: Watched,
) -> None:
    overrides = {**watched.overrides, ENV_FILE_OVERRIDE: str(watched.sandbox.env_file)}
    result = run_inv("deploy", "--env", "sandbox", env=overrides, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MONITORING is off: removed" in result.stdout + result.stderr
    for service in SERVICES:
        assert not containers(watched.sandbox, service), f"{service} still runs"
    volumes = on_vm(watched.sandbox, "docker", "volume", "ls", "--quiet").stdout.split()
    assert "docstore_prometheus-data" in volumes
    refused = inv(watched, "monitoring.up", "--env", "sandbox")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "deployed without the monitoring profile" in refused.stdout + refused.stderr
