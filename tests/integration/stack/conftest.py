"""The local stack, brought up once per session by `inv setup` itself."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from shipyard.config import load_config
from shipyard.images.resolve import resolve_images
from shipyard.remote import CommandResult
from shipyard.stack import LocalStack, open_stack
from tests.integration.support import IsolatedLocal, free_port, run_inv, test_project


@dataclass
class Stack:
    """The running local stack and ways to reach into it."""

    lib: LocalStack
    url: str
    setup_output: str
    isolated: IsolatedLocal

    def compose(self, argv: list[str]) -> CommandResult:
        """Run a compose command line with the same variables the tasks use."""
        return self.lib.runner.run(argv, env=self.lib.variables)

    def exec_app(self, *command: str, timeout: float = 60) -> CommandResult:
        """A command inside the running app container."""
        return self.lib.runner.run(
            self.lib.project.exec("app", list(command)), env=self.lib.variables, timeout=timeout
        )

    def container_id(self, service: str) -> str:
        """The id of the service's container."""
        result = self.compose([*self.lib.project.base(), "ps", "--quiet", service])
        return result.raise_for_status("docker compose ps").stdout.strip()

    def wait_ready(self, timeout: float = 90) -> None:
        """Poll /ready through nginx until it answers 200."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.url}/ready", timeout=3)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(1)
        pytest.fail(f"/ready did not turn 200 within {timeout} s; last answer: {last}")


@pytest.fixture(scope="session")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> IsolatedLocal:
    """A project, port and env file of the test session's own."""
    env_file = tmp_path_factory.mktemp("stack") / ".env"
    return IsolatedLocal(project=test_project("docstore-it"), env_file=env_file, port=free_port())


@pytest.fixture(scope="session")
def stack(isolated: IsolatedLocal) -> Iterator[Stack]:
    """`inv setup` once; the tests share the stack it leaves running; removed at the end."""
    result = isolated.setup()
    assert result.returncode == 0, f"inv setup failed:\n{result.stdout}\n{result.stderr}"
    config = load_config()
    env = isolated.environment()
    lib = open_stack(env, config.app_name, resolve_images(config.images.source))
    yield Stack(lib=lib, url=env.public_url, setup_output=result.stdout, isolated=isolated)
    down = run_inv("down", "--volumes", "--yes", env=isolated.overrides())
    assert down.returncode == 0, down.stderr


def docker_inspect(container: str, template: str) -> str:
    """One field of `docker inspect`."""
    return subprocess.run(
        ["docker", "inspect", "--format", template, container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
