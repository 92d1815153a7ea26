"""The sandbox VM of the end-to-end session: its own container name, ports, key, files."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipyard.config import Environment, load_config
from shipyard.remote.factory import runner_for
from shipyard.remote.ssh import SSHRunner
from tests.integration.support import free_port, run_inv

_OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_"
CONTAINER = os.environ.get("SHIPYARD_E2E_SANDBOX", "shipyard-sandbox-e2e")
"""The session VM's container name; set SHIPYARD_E2E_SANDBOX to run two sessions at once."""


@dataclass(frozen=True)
class IsolatedSandbox:
    """`--env sandbox` pointed at the session's own VM, so a developer's is never touched."""

    workdir: Path
    ssh_port: int
    http_port: int
    container: str = CONTAINER

    @property
    def public_url(self) -> str:
        """nginx on the VM, through the container's published port."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def env_file(self) -> Path:
        return self.workdir / ".env.sandbox"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    @property
    def key_file(self) -> Path:
        return self.workdir / "id_ed25519"

    def overrides(self) -> dict[str, str]:
        """Environment variables that point `inv --env sandbox` at this VM."""
        return {
            f"{_OVERRIDE}PORT": str(self.ssh_port),
            f"{_OVERRIDE}PUBLIC_URL": self.public_url,
            f"{_OVERRIDE}ENV_FILE": str(self.env_file),
            f"{_OVERRIDE}KNOWN_HOSTS": str(self.known_hosts),
            f"{_OVERRIDE}SSH_KEY": str(self.key_file),
            "SHIPYARD_SANDBOX_NAME": self.container,
        }

    def environment(self) -> Environment:
        """The same environment as a library object."""
        return (
            load_config()
            .environment("sandbox")
            .model_copy(
                update={
                    "port": self.ssh_port,
                    "public_url": self.public_url,
                    "env_file": self.env_file,
                    "known_hosts": self.known_hosts,
                    "ssh_key": self.key_file,
                }
            )
        )

    def runner(self) -> SSHRunner:
        """A fresh SSH runner into the VM."""
        runner = runner_for(self.environment())
        assert isinstance(runner, SSHRunner)
        return runner


@contextmanager
def running_sandbox(workdir: Path, container: str = CONTAINER) -> Iterator[IsolatedSandbox]:
    """`inv sandbox.up` of a VM of its own (name, free ports, files under `workdir`), and
    `inv sandbox.down` afterwards. AssertionError with the output when either fails."""
    docker = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    assert docker.returncode == 0, "no Docker engine answers; run ./scripts/bootstrap first"
    isolated = IsolatedSandbox(workdir, free_port(), free_port(), container)
    run_inv("sandbox.down", env=isolated.overrides())
    up = run_inv("sandbox.up", env=isolated.overrides())
    assert up.returncode == 0, f"inv sandbox.up failed:\n{up.stdout}\n{up.stderr}"
    try:
        yield isolated
    finally:
        down = run_inv("sandbox.down", env=isolated.overrides())
        assert down.returncode == 0, down.stderr
