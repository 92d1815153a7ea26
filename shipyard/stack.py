"""The stack of one environment on this machine: build, start, migrate, inspect, stop.

It binds a compose project to the variables that pick its images (upstream or local
stand-ins) and stamp the app build; every command line comes from `shipyard.compose`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from shipyard import dblogin, secretfiles
from shipyard.backup.target import encryption_key
from shipyard.compose import ComposeProject, project_for
from shipyard.config import PROJECT_ROOT, Environment
from shipyard.envfile.load import interpolate, parse_env_text, read_text, register_secrets
from shipyard.envfile.resolve import resolve_text
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.images.app import BuildInfo, read_build_info
from shipyard.images.standins import pip_ca_source
from shipyard.ports import require_port
from shipyard.remote import CommandResult, LocalRunner, Runner

MIGRATE_COMMAND = ("alembic", "upgrade", "head")
DATA_SERVICES = ("db", "objectstore")
PROFILE_FILES = (PROJECT_ROOT / "compose" / "compose.monitoring.yaml",)
"""Compose files of profiles started on their own (`inv monitoring.up`). `up` reads them with
their profiles off: their services are then known to compose, so `--remove-orphans` never
takes a running profile's containers for orphans (nothing of a profile starts)."""


@dataclass(frozen=True)
class ServiceState:
    """One container of the stack as `docker compose ps` reports it."""

    service: str
    state: str
    health: str
    ports: str

    @property
    def healthy(self) -> bool:
        """Running, and healthy where the service has a health check."""
        return self.state == "running" and self.health in ("healthy", "")


@dataclass
class LocalStack:
    """An environment's compose stack, run with this machine's Docker engine."""

    env: Environment
    app_name: str
    images: dict[str, str]
    build_info: BuildInfo
    runner: Runner = field(default_factory=lambda: LocalRunner(PROJECT_ROOT))

    @property
    def project(self) -> ComposeProject:
        """The compose project of the environment."""
        return project_for(self.env)

    @property
    def converge_project(self) -> ComposeProject:
        """The project `start` converges: `project` plus PROFILE_FILES (profiles off)."""
        project = self.project
        extra = tuple(file for file in PROFILE_FILES if file not in project.files)
        return replace(project, files=(*project.files, *extra))

    @property
    def variables(self) -> dict[str, str]:
        """Process environment for compose: image choices, the build stamp, pip's CA bundle,
        the directory of the secret files."""
        return {
            **self.images,
            **self.build_info.compose_variables(self.app_name),
            "PIP_CA_BUNDLE": str(pip_ca_bundle()),
            secretfiles.SECRETS_DIR_VARIABLE: str(self.write_secrets()),
        }

    @property
    def secrets_root(self) -> Path:
        """Where this project's secret files live on this machine."""
        return PROJECT_ROOT / ".shipyard" / "secrets" / self.env.project

    def write_secrets(self) -> Path:
        """The secret files of the env file as it is now (shipyard.secretfiles), written
        when missing; their directory changes with their content, so `up` recreates the
        containers whose secrets changed."""
        key = encryption_key(self.env_values, self.env.path(self.env.env_file))
        return secretfiles.write_local(self.secrets_root, self.env_values, key)

    @cached_property
    def env_values(self) -> dict[str, str]:
        """The env file's values, its secret references resolved (once per stack object)."""
        path = self.env.path(self.env.env_file)
        parsed = parse_env_text(resolve_text(read_text(path), str(path)))
        values = interpolate(parsed.entries)
        register_secrets(parsed, values)
        return values

    def _compose(
        self, argv: Sequence[str], what: str, *, stream: bool = False, progress: bool = False
    ) -> CommandResult:
        result = self.runner.run(
            argv, env=self.variables, capture=not stream, stdout_to_stderr=progress
        )
        return result.raise_for_status(what)

    def validate(self) -> None:
        """`docker compose config`: the merged files and the env file interpolate cleanly."""
        self._compose(self.project.config(quiet=True), "docker compose config")

    def build_app(self, *, stream: bool = True) -> None:
        """Build the app image (BuildKit through compose; cached layers are reused)."""
        # Compose prints build progress on stdout; it is progress, so it goes to stderr.
        argv = self.project.build(["app"])
        self._compose(argv, "building the app image", stream=stream, progress=True)

    def image_id(self) -> str | None:
        """The id of the built app image, if there is one."""
        ref = self.variables["APP_IMAGE"]
        result = self.runner.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref])
        return result.stdout.strip() if result.ok else None

    def start(self, services: Sequence[str] = (), *, wait_timeout: int = 180) -> None:
        """Start or converge services and wait until they are healthy: ConfigError first
        when the public URL's port is held by anything but this stack. When the database
        is among them, it starts first and the env file's password must open it
        (`check_database_login`) before anything else starts."""
        require_port(self.runner, self.env.public_url, self.project.project)
        stale = self.stale_secret_services()
        data = [name for name in DATA_SERVICES if not services or name in services]
        if "db" in data:
            self._compose(
                self.converge_project.up(
                    data, wait_timeout=wait_timeout, force_recreate=bool(set(data) & set(stale))
                ),
                "starting " + ", ".join(data),
            )
            self.check_database_login()
        if set(services or ["app"]) - set(data):
            what = f"starting {', '.join(services) or 'the stack'}"
            self._compose(self.converge_project.up(services, wait_timeout=wait_timeout), what)
            moved = [s for s in stale if s not in data and (not services or s in services)]
            if moved:
                argv = self.converge_project.up(
                    moved, wait_timeout=wait_timeout, force_recreate=True
                )
                self._compose(argv, f"recreating {', '.join(moved)} on the new secret files")
        if not services:  # every container now mounts the current secret files
            secretfiles.prune_local(self.secrets_root, self.write_secrets())

    def stale_secret_services(self) -> list[str]:
        """The services whose containers still mount secret files the env file no longer
        holds (their directory moved with the values: compose alone keeps them)."""
        listed = self.runner.run(
            [
                "docker",
                "ps",
                "-aq",
                "--filter",
                f"label=com.docker.compose.project={self.project.project}",
            ]
        )
        ids = listed.stdout.split() if listed.ok else []
        if not ids:
            return []
        inspected = self.runner.run(
            ["docker", "inspect", "--format", secretfiles.MOUNTS_FORMAT, *ids]
        )
        if not inspected.ok:
            return []
        return secretfiles.stale_services(inspected.stdout, self.secrets_root, self.write_secrets())

    def check_database_login(self) -> None:
        """ConfigError (one line: which volume, why, the two ways out) unless the env
        file's POSTGRES_USER and POSTGRES_PASSWORD open the running database."""
        env_file = self.env.path(self.env.env_file)
        values = self.env_values
        command = dblogin.login_command(values["POSTGRES_USER"], values["POSTGRES_DB"])
        result = self.runner.run(
            self.project.exec("db", command),
            env=self.variables,
            stdin=values["POSTGRES_PASSWORD"].encode(),
        )
        login = dblogin.judge(result.exit_code, result.stdout, result.stderr)
        volume = f"{self.env.project}_pgdata"
        ways_out = (
            f"restore the {env_file.name} it was created with, or delete the data"
            " with `inv down --volumes --yes`"
        )
        if login.verdict is dblogin.Verdict.WRONG_PASSWORD:
            raise ConfigError(
                f"the database volume {volume} was created with another password than"
                f" POSTGRES_PASSWORD (or another POSTGRES_USER) in {env_file.name}",
                hint=ways_out,
            )
        if login.verdict is dblogin.Verdict.NO_DATABASE:
            raise ConfigError(
                f"the database volume {volume} has no database {values['POSTGRES_DB']}"
                f" (POSTGRES_DB in {env_file.name}): {login.reason}",
                hint=ways_out,
            )
        if login.verdict is not dblogin.Verdict.OPENS:
            raise CommandFailedError(f"the database does not answer a login: {login.reason}")

    def migrate(self) -> str:
        """Apply database migrations in a one-off container of the app image."""
        argv = self.project.run_once("app", MIGRATE_COMMAND)
        return self._compose(argv, "database migrations").stderr

    def stop(self, *, volumes: bool = False) -> None:
        """Remove the stack's containers and networks (and volumes when asked)."""
        self._compose(self.project.down(volumes=volumes), "stopping the stack")

    def services(self) -> list[ServiceState]:
        """The stack's containers and their state."""
        result = self._compose(self.project.ps(), "docker compose ps")
        return parse_ps(result.stdout)

    def logs(self, services: Sequence[str] = (), *, follow: bool = False, tail: int = 200) -> None:
        """Stream container logs to the terminal."""
        argv = self.project.logs(services, follow=follow, tail=tail)
        self._compose(argv, "docker compose logs", stream=True)


def pip_ca_bundle() -> Path:
    """The CA bundle handed to builds as the `pip_ca` secret: the host's, or an empty file."""
    found = pip_ca_source()
    if found is not None:
        return found.resolve()
    empty = PROJECT_ROOT / ".shipyard" / "empty-ca.pem"
    empty.parent.mkdir(exist_ok=True)
    empty.touch()
    return empty


def parse_ps(output: str) -> list[ServiceState]:
    """Parse `docker compose ps --format json` (one JSON object per line, or one array)."""
    text = output.strip()
    if not text:
        return []
    if text.startswith("["):
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    states = [
        ServiceState(
            service=row.get("Service", ""),
            state=row.get("State", ""),
            health=row.get("Health", ""),
            ports=row.get("Ports", ""),
        )
        for row in rows
    ]
    return sorted(states, key=lambda state: state.service)


def open_stack(env: Environment, app_name: str, images: dict[str, str]) -> LocalStack:
    """A LocalStack with the build stamp of the current checkout."""
    runner = LocalRunner(PROJECT_ROOT)
    return LocalStack(env, app_name, images, read_build_info(PROJECT_ROOT, runner), runner)
