"""Containers, volumes and networks for the stand-in contract tests, always cleaned up."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

LABEL = "io.shipyard.test=images"


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `docker ARGS` (no stdin); fail the test with its output when it fails."""
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} exited {result.returncode}:\n{result.stderr}{result.stdout}"
        )
    return result


def unique(prefix: str) -> str:
    return f"shipyard-it-{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def wait_until(what: str, predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Container:
    name: str

    def exec(self, *argv: str, check: bool = True, user: str | None = None):
        options = ["--user", user] if user else []
        return docker("exec", *options, self.name, *argv, check=check)

    def logs(self) -> tuple[str, str]:
        result = docker("logs", self.name)
        return result.stdout, result.stderr

    def inspect(self) -> dict:
        return json.loads(docker("inspect", self.name).stdout)[0]

    def uids(self) -> set[int]:
        """Real uids of the container's own processes (from /proc, no ps needed).

        The listing runs as nobody (65534), whose own processes are left out.
        """
        out = self.exec(
            "sh",
            "-c",
            "for f in /proc/[0-9]*/status; do grep '^Uid:' \"$f\"; done",
            user="65534:65534",
        ).stdout
        uids = {int(line.split()[1]) for line in out.splitlines() if line.startswith("Uid:")}
        return uids - {65534}

    def host_port(self, port: int) -> int:
        out = docker("port", self.name, f"{port}/tcp").stdout.splitlines()[0]
        return int(out.rsplit(":", 1)[1])

    def health(self) -> str:
        return self.inspect()["State"].get("Health", {}).get("Status", "")


@dataclass
class Sandbox:
    """Everything one test module starts; `close` removes all of it."""

    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    def network(self) -> str:
        name = unique("net")
        docker("network", "create", "--label", LABEL, name)
        self.networks.append(name)
        return name

    def volume(self) -> str:
        name = unique("vol")
        docker("volume", "create", "--label", LABEL, name)
        self.volumes.append(name)
        return name

    def start(self, image: str, *command: str, options: Sequence[str] = ()) -> Container:
        name = unique("ctr")
        self.containers.append(name)
        docker("run", "-d", "--name", name, "--label", LABEL, *options, image, *command)
        return Container(name)

    def run(self, image: str, *command: str, options: Sequence[str] = (), check: bool = True):
        """A one-off container (removed when it exits); its CompletedProcess."""
        return docker("run", "--rm", "--label", LABEL, *options, image, *command, check=check)

    def close(self) -> None:
        for name in reversed(self.containers):
            docker("rm", "-f", "-v", name, check=False)
        for name in self.volumes:
            docker("volume", "rm", "-f", name, check=False)
        for name in self.networks:
            docker("network", "rm", name, check=False)
