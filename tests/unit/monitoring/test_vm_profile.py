"""The monitoring profile on a VM, as `inv deploy` ships and starts it: the switch, the
files a release carries (modes, no rule test), the rendered secrets only in private files,
the command lines (no secret, nothing of the stack touched, no --remove-orphans), and the
unpacked release read by the real `docker compose config`."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from shipyard.config import load_config
from shipyard.deploy import bundle
from shipyard.monitoring import vm
from shipyard.vm.layout import Layout, release_project

LAYOUT = Layout("/srv/docstore")
RELEASE = "20261203T120000Z-0.2.0"
SECRETS = {
    "ALERT_PAGERDUTY_ROUTING_KEY": "pd-routing-key-0123456789abcdef",
    "ALERT_SMTP_PASSWORD": "smtp-password-0123456789",
    "ALERT_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/slack-token-0123456789",
    "POSTGRES_PASSWORD": "database-password-0123456789",
}
ENV_TEXT = (
    "APP_ENV=sandbox\nPUBLIC_URL=http://127.0.0.1:18081\nPOSTGRES_DB=docstore\nPOSTGRES_USER=docstore\n"
    "ALERT_EMAIL_TO=ops@example.com\nALERT_SMTP_SMARTHOST=127.0.0.1:25\n"
    "ALERT_SMTP_USERNAME=ops\nMONITORING=true\n"
    + "".join(f"{name}={value}\n" for name, value in SECRETS.items())
)


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("staging", None, True),
        ("production", None, True),
        ("sandbox", None, False),
        ("production", "false", False),
        ("sandbox", "true", True),
        ("sandbox", "on", True),
        ("staging", "off", False),
    ],
)
def test_the_switch_defaults_on_in_staging_and_production(env, value, expected) -> None:
    values = {} if value is None else {"MONITORING": value}
    assert vm.enabled(env, values) is expected


def test_grafana_starts_only_from_its_upstream_image_with_a_password() -> None:
    started, left_out = vm.services(True, {"GRAFANA_ADMIN_PASSWORD": "x" * 16})
    assert started == list(vm.SERVICES) and "grafana" in left_out
    started, left_out = vm.services(False, {})
    assert "grafana" not in started and "GRAFANA_ADMIN_PASSWORD" in left_out["grafana"]
    started, left_out = vm.services(False, {"GRAFANA_ADMIN_PASSWORD": "x" * 16})
    assert started == [*vm.SERVICES, "grafana"] and left_out == {}


def unpacked(files: dict[str, tuple[bytes, int]]) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(bundle.pack(files))) as tar:
        return {member.name: member for member in tar.getmembers()}


def test_a_release_carries_the_profile_with_its_secrets_in_private_files_only() -> None:
    env = load_config().environment("sandbox")
    values = dict(line.split("=", 1) for line in ENV_TEXT.splitlines())
    files = vm.bundle_files(env, values, list(vm.SERVICES))
    members = unpacked(files)
    assert {
        "compose/compose.monitoring.yaml",
        "monitoring/prometheus/rules/shipyard.rules.yml",
        "monitoring/alertmanager/templates/shipyard.tmpl",
        "monitoring/blackbox/blackbox.yml",
        "monitoring/grafana/dashboards/shipyard.json",
        "secrets/monitoring/prometheus.yml",
        "secrets/monitoring/alertmanager.yml",
        "secrets/monitoring/postgres_password",
        "secrets/monitoring/grafana_admin_password",
        vm.SERVICES_FILE,
    } <= set(members)
    assert not [name for name in members if name.startswith("monitoring/prometheus/tests")]
    assert members["secrets/monitoring"].mode == 0o700
    for name, (content, mode) in files.items():
        holds = [key for key, secret in SECRETS.items() if secret.encode() in content]
        if holds:
            assert name.startswith("secrets/monitoring/") and mode == 0o600, (name, holds)
    alertmanager = files["secrets/monitoring/alertmanager.yml"][0].decode()
    for name in ("ALERT_PAGERDUTY_ROUTING_KEY", "ALERT_SMTP_PASSWORD", "ALERT_SLACK_WEBHOOK_URL"):
        assert SECRETS[name] in alertmanager
    prometheus = files["secrets/monitoring/prometheus.yml"][0].decode()
    assert "http://nginx:8080/ready" in prometheus  # the sandbox's URL is loopback
    assert files[vm.SERVICES_FILE][0].decode().split() == list(vm.SERVICES)


def test_the_release_env_points_compose_at_the_rendered_files_and_textfile_dir() -> None:
    env = load_config().environment("staging")
    textfile = vm.textfile_dir(env, Path(".shipyard/metrics"))
    assert textfile == "/srv/docstore/.shipyard/metrics"
    assert vm.compose_variables(LAYOUT, RELEASE, textfile) == {
        "SHIPYARD_MONITORING_DIR": f"/srv/docstore/releases/{RELEASE}/secrets/monitoring",
        "SHIPYARD_TEXTFILE_DIR": textfile,
    }


def test_the_rendered_files_go_to_their_containers_users_without_a_secret_in_argv() -> None:
    argv = vm.own_argv(LAYOUT, RELEASE, "docstore-app:0.2.0")
    assert argv[:5] == ["docker", "run", "--rm", "--network", "none"]
    assert f"/srv/docstore/releases/{RELEASE}/secrets/monitoring:/rendered" in argv
    script = argv[argv.index("-c") + 1]
    assert "chown 65534:65534 /rendered/alertmanager.yml" in script
    assert "chown 472:472 /rendered/grafana_admin_password" in script
    assert script.endswith("chmod 0400 /rendered/*")
    assert not [value for value in SECRETS.values() if value in " ".join(argv)]


def test_the_start_names_only_the_profile_and_never_removes_orphans() -> None:
    base = release_project(
        LAYOUT, RELEASE, "docstore", ["compose.yaml", "compose.production.yaml"], []
    )
    profile = vm.project(base)
    argv = vm.start_argv(profile, list(vm.SERVICES), 180)
    compose = f"/srv/docstore/releases/{RELEASE}/compose"
    assert argv == [
        "docker", "compose", "--project-name", "docstore",
        "--env-file", f"/srv/docstore/releases/{RELEASE}/.env",
        "--file", f"{compose}/compose.yaml",
        "--file", f"{compose}/compose.production.yaml",
        "--file", f"{compose}/compose.monitoring.yaml",
        "--profile", "monitoring",
        "up", "--detach", "--no-deps", "--no-build", "--wait", "--wait-timeout", "180",
        *vm.SERVICES,
    ]  # fmt: skip
    assert "--remove-orphans" not in argv
    assert not {"app", "db", "nginx", "objectstore"} & set(argv)
    assert vm.read_services_argv(LAYOUT, RELEASE) == [
        "cat",
        f"/srv/docstore/releases/{RELEASE}/monitoring/services",
    ]


def test_docker_compose_reads_the_unpacked_release_with_every_mount_inside_it(
    tmp_path: Path,
) -> None:
    """The real `docker compose config` on a release unpacked as the VM unpacks it: the
    profile's mounts resolve to the release's own files, its ports to 127.0.0.1 only."""
    env = load_config().environment("sandbox")
    root = tmp_path / "srv"
    layout = Layout(str(root))
    facts = bundle.ReleaseFacts(RELEASE, "sandbox", "0.2.0", "abc", "a:1", "sha256:1")
    textfile = str(root / ".shipyard" / "metrics")
    variables = {"APP_IMAGE": "a:1", **vm.compose_variables(layout, RELEASE, textfile)}
    files = bundle.bundle_files(env, facts, ENV_TEXT, variables)
    values = dict(line.split("=", 1) for line in ENV_TEXT.splitlines())
    files.update(vm.bundle_files(env, values, list(vm.SERVICES)))
    release = Path(layout.release(RELEASE))
    with tarfile.open(fileobj=io.BytesIO(bundle.pack(files))) as tar:
        tar.extractall(release, filter="data")
    project = vm.project(
        release_project(layout, RELEASE, "docstore", [f.name for f in env.compose_files], [])
    )
    result = subprocess.run(
        [*project.base(), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    services = config["services"]
    assert set(vm.SERVICES) <= set(services)
    for name in vm.SERVICES:
        for volume in services[name].get("volumes", []):
            if volume["type"] == "bind" and volume["source"] not in ("/", textfile):
                source = PurePosixPath(volume["source"])
                assert source.is_relative_to(release), (name, source)
                assert Path(source).exists(), (name, source)
        for port in services[name].get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)
    secrets = {name: Path(secret["file"]) for name, secret in config["secrets"].items()}
    assert secrets["postgres_password"] == release / vm.RENDERED_DIR / "postgres_password"
    assert not [value for value in SECRETS.values() if value in result.stdout]


def test_turning_it_off_removes_only_the_profiles_containers() -> None:
    argv = vm.remove_argv("docstore")
    assert argv[:2] == ["sh", "-c"] and argv[3] == "docstore"
    assert argv[4:] == [*vm.SERVICES, "grafana"]
    assert "volume" not in argv[2] and "--volumes" not in argv[2]


def test_the_dry_run_plan_names_the_profile_only_when_it_is_on() -> None:
    from shipyard.deploy.plan import DeployPlan

    on = DeployPlan("staging", "h", RELEASE, "a:1", LAYOUT, (), monitoring=True).steps()
    off = DeployPlan("staging", "h", RELEASE, "a:1", LAYOUT, ()).steps()
    assert len(on) == len(off) + 1
    assert "monitoring profile" in on[-1] and "failure only warns" in on[-1]
    assert not [step for step in off if "monitoring" in step]
