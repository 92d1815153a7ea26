"""A monitoring profile that does not start after the cut-over: the deploy says so in
capitals, with compose's reason and the command that retries, and goes on (the release is
live). Run for real: `docker compose` on this machine against a release missing its files
fails before it could reach any engine or registry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipyard.config import load_config
from shipyard.deploy import preflight
from shipyard.deploy.run import DeployRequest, start_monitoring
from shipyard.errors import ConfigError
from shipyard.monitoring import vm
from shipyard.remote import LocalRunner
from shipyard.vm.target import Target

RELEASE = "20261203T120000Z-0.2.0"


def request(profile: vm.Plan | None) -> DeployRequest:
    app = preflight.AppImage("docstore-app:0.2.0", "sha256:1", "0.2.0", "abc")
    return DeployRequest(RELEASE, app, {}, preflight.EnvFile("", {}), monitoring=profile)


@pytest.fixture
def target(tmp_path: Path) -> Target:
    env = (
        load_config()
        .environment("sandbox")
        .model_copy(update={"deploy_path": str(tmp_path), "project": f"vmmon-unit-{os.getpid()}"})
    )
    return Target(env, LocalRunner(tmp_path))


def test_a_profile_that_fails_to_start_warns_and_the_deploy_goes_on(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = tmp_path / "releases" / RELEASE / "monitoring" / "services"
    services.parent.mkdir(parents=True)
    services.write_text("prometheus\n")  # but no compose file, no .env: compose refuses
    textfile = str(tmp_path / ".shipyard" / "metrics")
    outcome = start_monitoring(target, request(vm.Plan(["prometheus"], {}, textfile)))
    assert outcome.startswith("FAILED: the monitoring profile did not start: ")
    said = capsys.readouterr()
    out = said.out + said.err
    assert "MONITORING FAILED" in out and "the release serves" in out
    assert "inv monitoring.up --env sandbox" in out
    assert Path(textfile).is_dir()


def test_a_release_deployed_without_the_profile_is_refused_by_monitoring_up(
    target: Target,
) -> None:
    with pytest.raises(ConfigError) as refused:
        vm.start(target, RELEASE, "/nonexistent")
    assert "deployed without the monitoring profile" in refused.value.one_line()
    assert "MONITORING=true" in refused.value.one_line()
