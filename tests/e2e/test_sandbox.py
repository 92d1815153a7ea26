"""The sandbox VM as `inv sandbox.up` leaves it: loopback only, key-only SSH, idempotent."""

from __future__ import annotations

import json
import socket
import subprocess
from dataclasses import replace

import paramiko
import pytest

from shipyard.errors import ConfigError
from shipyard.remote.ssh import SSHRunner
from tests.e2e.support import CONTAINER, IsolatedSandbox
from tests.integration.support import run_inv


def test_up_again_changes_nothing(sandbox: IsolatedSandbox):
    before = sandbox.known_hosts.read_text()
    started = _started_at()
    again = run_inv("sandbox.up", env=sandbox.overrides())
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert sandbox.known_hosts.read_text() == before
    assert _started_at() == started


def test_ports_are_published_on_loopback_only(sandbox: IsolatedSandbox):
    ports = json.loads(
        subprocess.run(
            ["docker", "inspect", "--format", "{{json .HostConfig.PortBindings}}", CONTAINER],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    bindings = [binding for published in ports.values() for binding in published]
    assert {binding["HostIp"] for binding in bindings} == {"127.0.0.1"}
    assert {binding["HostPort"] for binding in bindings} == {
        str(sandbox.ssh_port),
        str(sandbox.http_port),
    }


def test_only_public_key_logins_are_offered(sandbox: IsolatedSandbox):
    with socket.create_connection(("127.0.0.1", sandbox.ssh_port), timeout=10) as sock:
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=10)
            with pytest.raises(paramiko.BadAuthenticationType) as caught:
                transport.auth_none("deploy")
            assert caught.value.allowed_types == ["publickey"]
        finally:
            transport.close()


def test_root_cannot_log_in_even_with_the_deploy_key(sandbox: IsolatedSandbox):
    target = replace(sandbox.runner().target, user="root")
    with pytest.raises(ConfigError, match="the key was refused"):
        SSHRunner(target).run(["true"])


def test_the_login_key_and_env_file_are_private(sandbox: IsolatedSandbox):
    assert sandbox.key_file.stat().st_mode & 0o777 == 0o600
    assert sandbox.env_file.stat().st_mode & 0o777 == 0o600
    assert "APP_ENV=sandbox" in sandbox.env_file.read_text()


def _started_at() -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.StartedAt}}", CONTAINER],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
