"""Pure parts of the SSH runner and the sandbox: command lines, known_hosts, targets."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path

import paramiko
import pytest

from shipyard.config import PROJECT_ROOT, load_config
from shipyard.errors import ConfigError
from shipyard.remote import LocalRunner
from shipyard.remote.factory import runner_for, ssh_target
from shipyard.remote.hostkeys import (
    RejectUnknownHosts,
    UnknownHostKeyError,
    fingerprint,
    known_hosts_line,
    known_hosts_name,
)
from shipyard.remote.ssh import SSHRunner
from shipyard.remote.streams import remote_command
from shipyard.sandbox.vm import SandboxSpec, run_argv, spec_for, ssh_argv


def test_remote_command_quotes_every_word():
    argv = ["docker", "compose", "--file", "/srv/a b/c.yaml", "run", "echo $HOME; rm -rf /"]
    assert remote_command(argv) == (
        "docker compose --file '/srv/a b/c.yaml' run 'echo $HOME; rm -rf /'"
    )


def test_remote_command_sets_environment_with_env_sorted_and_quoted():
    line = remote_command(["docker", "ps"], env={"B": "two words", "A": "it's"})
    assert line == "env 'A=it'\"'\"'s' 'B=two words' docker ps"


def test_remote_command_with_a_working_directory():
    assert remote_command(["ls"], cwd="/srv/x y") == "cd '/srv/x y' && ls"


def test_remote_command_refuses_an_empty_argv():
    with pytest.raises(ValueError, match="empty"):
        remote_command([])


def test_known_hosts_names_follow_openssh():
    assert known_hosts_name("vm.example.com", 22) == "vm.example.com"
    assert known_hosts_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"
    line = known_hosts_line("127.0.0.1", 2222, "ssh-ed25519 AAAAkey root@sandbox")
    assert line == "[127.0.0.1]:2222 ssh-ed25519 AAAAkey\n"


def test_fingerprint_matches_ssh_keygen(tmp_path: Path):
    key_file = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)], check=True)
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(key_file) + ".pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    key = paramiko.Ed25519Key.from_private_key_file(str(key_file))
    assert fingerprint(key) == listed
    raw = base64.b64decode((key_file.with_suffix(".pub")).read_text().split()[1])
    assert fingerprint(key) == "SHA256:" + base64.b64encode(
        hashlib.sha256(raw).digest()
    ).decode().rstrip("=")


def test_the_policy_rejects_unknown_hosts_instead_of_adding_them(tmp_path: Path):
    key = paramiko.Ed25519Key.from_private_key_file(_new_key(tmp_path))
    client = paramiko.SSHClient()
    with pytest.raises(UnknownHostKeyError) as caught:
        RejectUnknownHosts(tmp_path / "known").missing_host_key(client, "[h]:22", key)
    assert caught.value.key is key
    assert len(client.get_host_keys()) == 0


def test_a_missing_known_hosts_file_is_a_config_error_before_connecting(tmp_path: Path):
    env = _sandbox_env(known_hosts=tmp_path / "absent")
    with pytest.raises(ConfigError, match="absent is missing"):
        SSHRunner(ssh_target(env)).connect()


def test_the_factory_picks_local_or_ssh():
    config = load_config()
    assert isinstance(runner_for(config.environment("local")), LocalRunner)
    runner = runner_for(config.environment("sandbox"))
    assert isinstance(runner, SSHRunner)
    target = runner.target
    assert (target.host, target.user, target.port) == ("127.0.0.1", "deploy", 2222)
    assert target.known_hosts == PROJECT_ROOT / ".shipyard/known_hosts.sandbox"
    assert target.key_file == PROJECT_ROOT / ".shipyard/sandbox/id_ed25519"


def test_staging_defaults_to_a_known_hosts_file_of_its_own_and_ssh_config_for_the_rest():
    target = ssh_target(load_config().environment("staging"))
    assert target.known_hosts == PROJECT_ROOT / ".shipyard/known_hosts.staging"
    assert target.key_file is None
    assert target.describe() == "deploy@staging"


def test_sandbox_container_is_published_on_loopback_only_without_privileged():
    env = _sandbox_env()
    spec = spec_for(env, "ssh-ed25519 AAAA", "sb")
    assert spec == SandboxSpec("sb", 2222, 18081, "ssh-ed25519 AAAA")
    argv = run_argv(spec)
    assert "--privileged" not in argv
    published = [argv[i + 1] for i, word in enumerate(argv) if word == "--publish"]
    assert published == ["127.0.0.1:2222:22", "127.0.0.1:18081:18081"]
    assert argv[argv.index("--cap-drop") + 1] == "SYS_RESOURCE"
    assert argv[-1] == "shipyard-local/sandbox:bookworm"


def test_sandbox_refuses_a_remote_host():
    env = load_config().environment("staging")
    with pytest.raises(ConfigError, match="not a sandbox"):
        spec_for(env, "ssh-ed25519 AAAA", "sb")


def test_interactive_ssh_checks_the_recorded_host_key():
    env = _sandbox_env()
    assert ssh_argv(env) == [
        "ssh",
        "-p",
        "2222",
        "-o",
        f"UserKnownHostsFile={PROJECT_ROOT / '.shipyard/known_hosts.sandbox'}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-i",
        str(PROJECT_ROOT / ".shipyard/sandbox/id_ed25519"),
        "-o",
        "IdentitiesOnly=yes",
        "deploy@127.0.0.1",
    ]


def _sandbox_env(**update):
    return load_config().environment("sandbox").model_copy(update=update)


def _new_key(tmp_path: Path) -> str:
    path = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return str(path)
