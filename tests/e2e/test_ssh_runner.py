"""The SSH runner against the sandbox VM's real OpenSSH server: commands, streams, trust."""

from __future__ import annotations

import base64
import io
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import paramiko
import pytest

from shipyard.errors import CommandFailedError, ConfigError
from shipyard.remote.hostkeys import fingerprint
from shipyard.remote.ssh import SSHRunner
from tests.e2e.support import CONTAINER, IsolatedSandbox
from tests.integration.support import free_port


@pytest.fixture(scope="module")
def runner(sandbox: IsolatedSandbox):
    with sandbox.runner() as runner:
        yield runner


def _host_key(sandbox: IsolatedSandbox) -> paramiko.PKey:
    line = sandbox.known_hosts.read_text().split()
    return paramiko.PKey.from_type_string(line[1], base64.b64decode(line[2]))


def test_run_reports_exit_code_stdout_and_stderr_and_quotes_arguments(runner: SSHRunner):
    result = runner.run(
        ["sh", "-c", 'echo "$1 $FOO"; echo oops >&2; exit 3', "-", "a;b"], env={"FOO": "x y"}
    )
    assert (result.exit_code, result.stdout, result.stderr) == (3, "a;b x y\n", "oops\n")
    assert runner.run(["whoami"]).stdout == "deploy\n"


def test_run_feeds_stdin_and_never_waits_for_one(runner: SSHRunner):
    assert runner.run(["cat"], stdin=b"\x00binary\xff").stdout.encode("latin-1", "replace")
    assert runner.run(["cat"], timeout=10).stdout == ""  # no stdin given: EOF, no hang


def test_run_times_out(runner: SSHRunner):
    with pytest.raises(CommandFailedError, match="did not finish within 1 s"):
        runner.run(["sleep", "301"], timeout=1)
    time.sleep(1)
    assert "sleep 301" not in runner.run(["ps", "-eo", "args"]).stdout  # stopped, not left


def test_stream_in_moves_32_mb_and_keeps_its_bytes(runner: SSHRunner):
    data = bytes(range(256)) * (32 * 4096)
    result = runner.stream_in(["sha256sum"], io.BytesIO(data))
    expected = subprocess.run(["sha256sum"], input=data, capture_output=True, check=True)
    assert result.ok
    assert result.stdout.split()[0] == expected.stdout.decode().split()[0]


def test_stream_out_delivers_and_fails_at_the_end_when_the_command_fails(runner: SSHRunner):
    with runner.stream_out(["head", "-c", "3000000", "/dev/zero"]) as stream:
        assert len(stream.read()) == 3_000_000
    with (
        pytest.raises(CommandFailedError, match=r"exit 4.*boom"),
        runner.stream_out(["sh", "-c", "echo partial; echo boom >&2; exit 4"]) as stream,
    ):
        assert stream.read(8) == b"partial\n"
        stream.read(8)


def test_leaving_stream_out_early_stops_the_command(runner: SSHRunner):
    with runner.stream_out(["sh", "-c", "echo started; exec sleep 300"]) as stream:
        assert stream.read(8) == b"started\n"
    time.sleep(1)
    assert "sleep 300" not in runner.run(["ps", "-eo", "args"]).stdout


def test_unknown_host_key_is_refused_naming_its_fingerprint(sandbox: IsolatedSandbox, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    target = replace(sandbox.runner().target, known_hosts=empty)
    with pytest.raises(ConfigError) as caught:
        SSHRunner(target).run(["true"])
    message = caught.value.one_line()
    assert "unknown host key" in message and fingerprint(_host_key(sandbox)) in message
    assert empty.read_text() == ""  # never learned


def test_changed_host_key_is_refused_naming_both_fingerprints(sandbox: IsolatedSandbox, tmp_path):
    other = paramiko.Ed25519Key.from_private_key_file(_keygen(tmp_path / "other"))
    forged = tmp_path / "known_hosts"
    forged.write_text(f"[127.0.0.1]:{sandbox.ssh_port} ssh-ed25519 {other.get_base64()}\n")
    target = replace(sandbox.runner().target, known_hosts=forged)
    with pytest.raises(ConfigError) as caught:
        SSHRunner(target).run(["true"])
    message = caught.value.one_line()
    assert "CHANGED" in message
    assert fingerprint(_host_key(sandbox)) in message and fingerprint(other) in message
    assert "\n" not in message


def test_a_wrong_login_key_is_refused(sandbox: IsolatedSandbox, tmp_path):
    target = replace(sandbox.runner().target, key_file=Path(_keygen(tmp_path / "wrong")))
    with pytest.raises(ConfigError, match="the key was refused"):
        SSHRunner(target).run(["true"])


def test_an_unreachable_port_fails_fast_with_a_config_error(sandbox: IsolatedSandbox):
    target = replace(sandbox.runner().target, port=free_port(), connect_timeout=3)
    with pytest.raises(ConfigError, match=r"cannot connect|no answer"):
        SSHRunner(target).run(["true"])


def test_the_vm_has_its_own_docker_engine_and_compose(runner: SSHRunner):
    assert runner.run(["docker", "info", "--format", "{{.Driver}}"]).stdout.strip() == "overlay2"
    assert runner.run(["docker", "compose", "version", "--short"]).ok
    names = subprocess.run(
        ["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert CONTAINER in names


def _keygen(path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return str(path)
