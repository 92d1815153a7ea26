"""Start, inspect and remove the sandbox VM container; record its host key out of band.

`run_argv` and the other `*_argv` functions are pure; `Sandbox` executes them with the
local engine. The container runs its own dockerd, so it needs the flags of DIND_FLAGS
(docs/deploy.md, "The sandbox VM": no --privileged, the kernel lacks CAP_SYS_RESOURCE), and
it publishes SSH and HTTP on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from shipyard import console
from shipyard.config import PROJECT_ROOT, Environment
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.images.base import build_base
from shipyard.images.engine import Engine
from shipyard.images.standins import context_hash, is_current, pip_ca_file
from shipyard.remote import LocalRunner
from shipyard.remote.hostkeys import known_hosts_line

IMAGE = "shipyard-local/sandbox:bookworm"
CONTEXT = PROJECT_ROOT / "images" / "sandbox"
BARE_IMAGE = "shipyard-local/sandbox-bare:bookworm"
BARE_CONTEXT = PROJECT_ROOT / "images" / "sandbox-bare"
NAME_ENV = "SHIPYARD_SANDBOX_NAME"
DEFAULT_NAME = "shipyard-sandbox"
HOST_KEY = "/etc/ssh/ssh_host_ed25519_key.pub"
READY_TIMEOUT = 60.0

DIND_FLAGS = (
    "--cap-add",
    "ALL",
    "--cap-drop",
    "SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "--volume",
    "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs",
    "/var/lib/docker:exec",
)
"""What an inner dockerd needs here instead of --privileged (docs/deploy.md, "The sandbox VM")."""


def container_name(environ: dict[str, str] | None = None) -> str:
    """The sandbox container's name (SHIPYARD_SANDBOX_NAME, for isolated test runs)."""
    environ = dict(os.environ) if environ is None else environ
    return environ.get(NAME_ENV) or DEFAULT_NAME


@dataclass(frozen=True)
class Flavour:
    """Which VM the sandbox replicates: one ready for `inv deploy`, or a fresh (bare) one
    that `inv provision` prepares."""

    image: str
    context: Path
    service: str
    ready_probe: str
    needs_pip_ca: bool
    login_user: str | None = None
    """Who logs in before provisioning (None: the environment's user)."""


READY = Flavour(IMAGE, CONTEXT, "sandbox", "docker info >/dev/null && pgrep -x sshd", True)
BARE = Flavour(BARE_IMAGE, BARE_CONTEXT, "sandbox-bare", "pgrep -x sshd", False, "debian")
"""No Docker, no deploy user: OpenSSH and the sudo user `debian` (images/sandbox-bare)."""


@dataclass(frozen=True)
class SandboxSpec:
    """Everything that decides how the sandbox container is started."""

    name: str
    ssh_port: int
    http_port: int
    public_key: str
    image: str = IMAGE
    https_port: int | None = None


def spec_for(env: Environment, public_key: str, name: str) -> SandboxSpec:
    """The sandbox of environment `env`: SSH on its port, HTTP on its public URL's port."""
    if env.host not in ("127.0.0.1", "localhost"):
        raise ConfigError(
            f"environment {env.name} is not a sandbox: its host is {env.host!r}",
            hint="the sandbox listens on 127.0.0.1; use --env sandbox",
        )
    http_port = urlsplit(env.public_url).port
    if not env.port or not http_port:
        raise ConfigError(
            f"invoke.yaml: environment {env.name} needs a port and a public_url with a port"
        )
    if urlsplit(env.public_url).scheme == "https":
        if not env.http_port:
            raise ConfigError(
                f"invoke.yaml: environment {env.name} has an https public_url but no http_port",
                hint="set http_port: to a free port (nginx's port 80: redirect and ACME)",
            )
        return SandboxSpec(name, env.port, env.http_port, public_key, https_port=http_port)
    return SandboxSpec(name, env.port, http_port, public_key)


def run_argv(spec: SandboxSpec) -> list[str]:
    """`docker run` of the sandbox VM; ports on 127.0.0.1 only, key-only SSH for `deploy`.

    The VM's nginx publishes HTTP_PORT (the public URL's port, from the env file), so the
    same port number is forwarded.
    """
    return [
        "docker",
        "run",
        "--detach",
        "--init",
        "--name",
        spec.name,
        "--hostname",
        "sandbox",
        "--label",
        "io.shipyard.sandbox=1",
        *DIND_FLAGS,
        "--publish",
        f"127.0.0.1:{spec.ssh_port}:22",
        "--publish",
        f"127.0.0.1:{spec.http_port}:{spec.http_port}",
        *(
            ("--publish", f"127.0.0.1:{spec.https_port}:{spec.https_port}")
            if spec.https_port
            else ()
        ),
        "--env",
        f"SANDBOX_AUTHORIZED_KEY={spec.public_key}",
        spec.image,
    ]


def keygen_argv(path: Path) -> list[str]:
    """A new ed25519 key pair without a passphrase (the sandbox's login key)."""
    return [
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "shipyard-sandbox",
        "-f",
        str(path),
    ]


def ssh_argv(env: Environment, extra: list[str] | None = None) -> list[str]:
    """An interactive `ssh` into the VM that trusts only the recorded host key."""
    argv = ["ssh", "-p", str(env.port), "-o", f"UserKnownHostsFile={env.known_hosts_file}"]
    argv += ["-o", "StrictHostKeyChecking=yes"]
    if env.ssh_key:
        argv += ["-i", str(env.path(env.ssh_key)), "-o", "IdentitiesOnly=yes"]
    return [*argv, f"{env.user}@{env.host}", *(extra or [])]


@dataclass
class Sandbox:
    """The sandbox VM of one environment, run with this machine's Docker engine."""

    env: Environment
    name: str
    engine: Engine
    flavour: Flavour = READY

    @classmethod
    def for_env(cls, env: Environment, *, bare: bool = False) -> Sandbox:
        """The sandbox of `env`, named by SHIPYARD_SANDBOX_NAME or the default."""
        flavour = BARE if bare else READY
        return cls(env, container_name(), Engine(LocalRunner(PROJECT_ROOT)), flavour)

    @property
    def key_file(self) -> Path:
        """The private login key (the environment's ssh_key)."""
        if self.env.ssh_key is None:
            raise ConfigError(f"invoke.yaml: environment {self.env.name} needs ssh_key")
        return self.env.path(self.env.ssh_key)

    def state(self) -> str | None:
        """The container's state (running, exited, ...) or None when there is none."""
        result = self.engine.runner.run(
            ["docker", "inspect", "--format", "{{.State.Status}}", self.name]
        )
        return result.stdout.strip() if result.ok else None

    def build_image(self) -> None:
        """Build the VM image unless it was built from the same context."""
        image, context = self.flavour.image, self.flavour.context
        wanted = context_hash(context)
        if is_current(self.engine.image_labels(image), wanted):
            console.skipped(f"{image}: already built")
            return
        build_base(engine=self.engine)
        with pip_ca_file() as ca_file:
            argv = [
                "docker",
                "compose",
                "--file",
                str(context / "compose.yaml"),
                "--progress",
                "plain",
                "build",
                "--build-arg",
                f"SHIPYARD_CONTEXT_HASH={wanted}",
                self.flavour.service,
            ]
            env = {"DOCKER_BUILDKIT": "1"}
            if self.flavour.needs_pip_ca:
                env["PIP_CA_BUNDLE"] = str(ca_file)
            with console.status(f"building {image}"):
                self.engine.run(argv, f"building {image}", env=env, timeout=1800)
        console.done(f"{image}: built")

    def ensure_key(self) -> str:
        """The login key pair (created, mode 0600, when missing); returns the public key."""
        key = self.key_file
        if not key.exists():
            key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.engine.run(keygen_argv(key), "ssh-keygen")
            console.done(f"created the sandbox login key {key}")
        return Path(f"{key}.pub").read_text(encoding="utf-8").strip()

    def up(self) -> bool:
        """Start the VM (building its image first) and record its host key.

        Returns False when it was already running (nothing changed).
        """
        state = self.state()
        if state == "running":
            self.require_flavour()
            self.record_host_key()
            return False
        if state is not None:
            self.engine.run(["docker", "rm", "--force", self.name], "removing the old sandbox")
        self.build_image()
        spec = replace(spec_for(self.env, self.ensure_key(), self.name), image=self.flavour.image)
        self.engine.run(run_argv(spec), f"starting the sandbox VM {self.name}")
        self.wait_ready()
        self.record_host_key()
        return True

    def require_flavour(self) -> None:
        """ConfigError when the running VM is of the other flavour (bare or ready)."""
        result = self.engine.runner.run(
            ["docker", "inspect", "--format", "{{.Config.Image}}", self.name]
        )
        running = result.stdout.strip()
        if result.ok and running != self.flavour.image:
            raise ConfigError(
                f"the sandbox VM {self.name} runs {running}, not {self.flavour.image}",
                hint="remove it first with `inv sandbox.down`",
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the VM's SSH server (and Docker engine, when it has one) answer."""
        probe = ["docker", "exec", self.name, "sh", "-c", self.flavour.ready_probe]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.engine.runner.run(probe, timeout=30).ok:
                return
            time.sleep(0.5)
        logs = self.engine.runner.run(["docker", "logs", "--tail", "20", self.name])
        raise CommandFailedError(
            f"the sandbox VM did not become ready within {timeout:.0f} s: "
            f"{(logs.stderr or logs.stdout).strip()[-500:]}"
        )

    def record_host_key(self) -> Path:
        """Write the environment's known_hosts from the VM's host key, read out of band
        (`docker exec`, never from an SSH handshake)."""
        result = self.engine.run(
            ["docker", "exec", self.name, "cat", HOST_KEY], "reading the host key"
        )
        path = self.env.known_hosts_file
        path.parent.mkdir(parents=True, exist_ok=True)
        line = known_hosts_line(str(self.env.host), int(self.env.port or 22), result.stdout.strip())
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(line, encoding="utf-8")
        temporary.replace(path)
        return path

    def down(self) -> bool:
        """Remove the VM and everything in it; returns False when there was none."""
        if self.state() is None:
            return False
        self.engine.run(["docker", "rm", "--force", "--volumes", self.name], "removing the sandbox")
        self.env.known_hosts_file.unlink(missing_ok=True)
        return True

    def exec_ssh(self, command: list[str] | None = None) -> None:
        """Replace this process with an interactive `ssh` into the VM."""
        if self.state() != "running":
            raise ConfigError(
                "the sandbox VM is not running", hint="start it with `inv sandbox.up`"
            )
        argv = ssh_argv(self.env, command)
        sys.stdout.flush()
        os.execvp(argv[0], argv)  # noqa: S606 - an interactive session is the point
