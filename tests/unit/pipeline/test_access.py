"""`inv ci.access`: a CI runner's env file, deploy key and known_hosts from its secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.config import PROJECT_ROOT, load_config
from shipyard.errors import ConfigError
from shipyard.pipeline.access import write_access

SECRETS = {
    "SHIPYARD_ENV_FILE": "APP_ENV=staging\nSECRET_KEY=s3cr3t-value-never-printed\n",
    "SHIPYARD_SSH_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"
    "-----END OPENSSH PRIVATE KEY-----",
    "SHIPYARD_KNOWN_HOSTS": "203.0.113.7 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",
    "SHIPYARD_SSH_HOSTNAME": "203.0.113.7",
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_written_0600_and_the_host_alias_uses_the_key(tmp_path: Path) -> None:
    env = (
        load_config()
        .environment("staging")
        .model_copy(
            update={
                "env_file": tmp_path / "env.staging",
                "known_hosts": tmp_path / "known_hosts.staging",
            }
        )
    )
    home = tmp_path / "home"
    written = write_access(env, SECRETS, home)
    assert written.env_file.read_text() == SECRETS["SHIPYARD_ENV_FILE"]
    assert written.known_hosts.read_text() == SECRETS["SHIPYARD_KNOWN_HOSTS"] + "\n"
    assert written.ssh_key.read_text() == SECRETS["SHIPYARD_SSH_KEY"] + "\n"
    assert written.ssh_key == PROJECT_ROOT / ".shipyard" / "ci" / "id_staging"
    for path in (written.env_file, written.known_hosts, written.ssh_key, home / ".ssh/config"):
        assert _mode(path) == 0o600, path
    config = (home / ".ssh" / "config").read_text()
    assert config == (
        "# shipyard ci access: staging\nHost staging\n    HostName 203.0.113.7\n"
        f"    User deploy\n    IdentityFile {written.ssh_key}\n    IdentitiesOnly yes\n"
    )
    write_access(env, SECRETS, home)
    assert (home / ".ssh" / "config").read_text() == config  # a second run adds nothing
    written.ssh_key.unlink()


def test_a_missing_secret_is_named(tmp_path: Path) -> None:
    env = load_config().environment("staging")
    with pytest.raises(ConfigError, match="SHIPYARD_SSH_KEY, SHIPYARD_KNOWN_HOSTS not set"):
        write_access(env, {"SHIPYARD_ENV_FILE": "A=1"}, tmp_path)


def test_the_task_prints_paths_never_the_secrets(tmp_path: Path) -> None:
    overrides = {
        "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_ENV_FILE": str(tmp_path / "env"),
        "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_KNOWN_HOSTS": str(tmp_path / "known_hosts"),
        "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_SSH_KEY": str(tmp_path / "key"),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "inv"), "ci.access", "--env", "sandbox"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **SECRETS, **overrides, "HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"sandbox: env file {tmp_path / 'env'}, key {tmp_path / 'key'}" in done.stdout
    assert "s3cr3t" not in done.stdout + done.stderr
    assert "OPENSSH" not in done.stdout + done.stderr
    assert not (tmp_path / "home" / ".ssh").exists()  # the sandbox names its own key
    assert _mode(tmp_path / "key") == 0o600
    missing = subprocess.run(
        [str(Path(sys.executable).parent / "inv"), "ci.access", "--env", "sandbox"],
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "error: SHIPYARD_ENV_FILE, SHIPYARD_SSH_KEY, SHIPYARD_KNOWN_HOSTS not set (map the "
        "environment's secrets to these variables in the workflow step)"
    ]
