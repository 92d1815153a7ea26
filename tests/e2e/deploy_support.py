"""Helpers of the deploy scenarios: app images of other versions, a poller of the public
URL, and a look at the VM."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field

import httpx

from shipyard.config import PROJECT_ROOT, load_config
from shipyard.images.app import BuildInfo
from shipyard.images.resolve import resolve_images
from shipyard.stack import LocalStack
from shipyard.vm.releases import current_release
from shipyard.vm.target import Target
from tests.e2e.support import IsolatedSandbox
from tests.integration.support import build_image, run_inv

POLL_INTERVAL = 0.05
POLL_LIMIT_SECONDS = 300


def build_app_version(sandbox: IsolatedSandbox, version: str) -> str:
    """Build the app from this checkout, stamped `version` (a build arg, the checkout is
    untouched); returns the image tag passed to `inv deploy --version`."""
    config = load_config()
    images = resolve_images(config.images.source)
    build = BuildInfo(version, "e2e0" * 10, "2026-01-01T00:00:00+00:00")
    stack = LocalStack(sandbox.environment(), config.app_name, images, build)
    stack.build_app(stream=False)
    return stack.variables["APP_IMAGE"].partition(":")[2]


def build_derived(base_tag: str, tag: str, instructions: str) -> str:
    """An image FROM docstore-app:`base_tag` with extra Dockerfile lines; returns `tag`."""
    build_image(f"FROM docstore-app:{base_tag}\n{instructions}\n", f"docstore-app:{tag}")
    return tag


def deploy(sandbox: IsolatedSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """`inv deploy --env sandbox ARGS` against the session's VM."""
    return run_inv("deploy", "--env", "sandbox", *args, env=sandbox.overrides())


def start_deploy(sandbox: IsolatedSandbox, *args: str) -> subprocess.Popen[str]:
    """`inv deploy --env sandbox ARGS` started in the background (text pipes, no stdin)."""
    return subprocess.Popen(
        [str(PROJECT_ROOT / ".venv/bin/inv"), "deploy", "--env", "sandbox", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **sandbox.overrides()},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def on_vm(sandbox: IsolatedSandbox, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command on the VM as the deploy user (out of band: docker exec)."""
    return subprocess.run(
        ["docker", "exec", "--user", "deploy", sandbox.container, *argv],
        capture_output=True,
        text=True,
        check=False,
    )


def undeploy(sandbox: IsolatedSandbox) -> None:
    """Remove what a module deployed to the session's VM: the serving release's stack with
    its volumes, then the deploy path (the next module starts from an empty VM)."""
    env = sandbox.environment()
    with sandbox.runner() as runner:
        release = current_release(Target(env, runner))
        assert release is not None
        # the release's own compose files: a module may deploy with fewer than invoke.yaml's
        listed = on_vm(sandbox, "ls", f"{env.deploy_path}/releases/{release}/compose")
        shipped = set(listed.stdout.split())
        files = [file for file in env.compose_files if file.name in shipped]
        target = Target(env.model_copy(update={"compose_files": files}), runner)
        runner.run(target.project(release).down(volumes=True)).raise_for_status("down")
    cleanup = ["docker", "exec", sandbox.container, "rm", "-rf", str(env.deploy_path)]
    subprocess.run(cleanup, check=True, capture_output=True)


def served_version(sandbox: IsolatedSandbox) -> str:
    """The version the public URL answers with."""
    response = httpx.get(f"{sandbox.public_url}/version", timeout=5)
    response.raise_for_status()
    return str(response.json()["version"])


@dataclass
class Poller:
    """GETs /version through nginx every `interval` s in a thread until stopped (bounded in
    time), recording each answer and when every successful one came.

    It behaves as HTTP/1.1 clients such as browsers, curl and Go's net/http do (RFC 9112
    section 9.3.1): a GET whose *reused* keep-alive connection the server closed before
    sending any byte of a response is sent once more on a new connection, and recorded in
    `retried`. nginx's graceful reload makes that race (its old workers close their idle
    keep-alive connections at once; a request already on its way meets the close), 5 times
    in 300 reloads here; a retry that fails, or any other error, is in `failed`.
    """

    url: str
    interval: float = POLL_INTERVAL
    statuses: list[int] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Poller:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        deadline = time.monotonic() + POLL_LIMIT_SECONDS
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    response = self._get(client)
                    self.statuses.append(response.status_code)
                    if response.status_code == 200:
                        self.versions.add(response.json()["version"])
                        self.successes.append(time.monotonic())
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                time.sleep(self.interval)

    def _get(self, client: httpx.Client) -> httpx.Response:
        """One GET, sent again once when its reused connection closed unanswered."""
        opened: list[str] = []

        def trace(event: str, _info: dict[str, object]) -> None:
            if event.startswith("connection.connect_tcp."):
                opened.append(event)

        try:
            return client.get(f"{self.url}/version", extensions={"trace": trace})
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if opened or not closed_unanswered(exc):
                raise
            self.retried.append(repr(exc))
            return client.get(f"{self.url}/version")

    @property
    def sent(self) -> int:
        """Requests sent (answered or not; a retry is not counted again)."""
        return len(self.statuses) + len(self.errors)

    @property
    def longest_gap(self) -> float:
        """The longest time in seconds between two successful answers."""
        pairs = zip(self.successes, self.successes[1:], strict=False)
        return max((later - earlier for earlier, later in pairs), default=0.0)

    @property
    def failed(self) -> list[str]:
        """Every request that did not answer 200 (after its one retry, if it had one)."""
        return self.errors + [str(code) for code in self.statuses if code != 200]

    def assert_none_failed(self) -> None:
        """Every request answered 200 on its first try: none failed, none was retried
        (nothing closed this client's keep-alive connection under it)."""
        assert self.failed == [], f"failed requests: {self.failed[:5]}"
        assert self.retried == [], f"requests sent again: {self.retried}"


def closed_unanswered(exc: httpx.HTTPError) -> bool:
    """The server closed (or reset) the connection before any byte of a response."""
    if isinstance(exc, httpx.RemoteProtocolError):
        return "without sending a response" in str(exc)
    return isinstance(exc, httpx.ReadError)
