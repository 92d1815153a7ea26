"""`docker compose` command lines for an environment: files, project name, env file, profiles.

Pure: every function returns an argv list; `shipyard.remote` runs them. Secrets never
appear here: compose reads them from the env file itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from shipyard.config import Environment


@dataclass(frozen=True)
class ComposeProject:
    """One compose project: which files, which env file, which profiles, under what name.

    Paths are local `Path`s for this machine's stack (`project_for`) and `PurePosixPath`s
    for a release on a VM (`shipyard.vm.layout.release_project`); only their text is used."""

    project: str
    files: tuple[PurePath, ...]
    env_file: PurePath
    profiles: tuple[str, ...] = ()

    def base(self) -> list[str]:
        """`docker compose` with the project's global options."""
        argv = ["docker", "compose", "--project-name", self.project]
        argv += ["--env-file", str(self.env_file)]
        for file in self.files:
            argv += ["--file", str(file)]
        for profile in self.profiles:
            argv += ["--profile", profile]
        return argv

    def config(self, *, quiet: bool = False) -> list[str]:
        """Validate and render the merged configuration."""
        return [*self.base(), "config", *(["--quiet"] if quiet else ["--format", "json"])]

    def build(self, services: Sequence[str] = ()) -> list[str]:
        """Build the services that have a build section."""
        return [*self.base(), "build", *services]

    def up(
        self,
        services: Sequence[str] = (),
        *,
        wait: bool = True,
        wait_timeout: int = 180,
        build: bool = False,
        force_recreate: bool = False,
    ) -> list[str]:
        """Start (or converge) services in the background, optionally waiting until healthy.
        `force_recreate`: new containers even when compose sees no change (it does not see
        a secret file that moved: the service's config hash names the secret, not its file)."""
        argv = [*self.base(), "up", "--detach", "--remove-orphans"]
        if not build:
            argv.append("--no-build")
        if force_recreate:
            argv.append("--force-recreate")
        if wait:
            argv += ["--wait", "--wait-timeout", str(wait_timeout)]
        return [*argv, *services]

    def down(self, *, volumes: bool = False) -> list[str]:
        """Stop and remove the containers and networks (and the data volumes if asked)."""
        return [*self.base(), "down", "--remove-orphans", *(["--volumes"] if volumes else [])]

    def stop(self, services: Sequence[str] = ()) -> list[str]:
        """Stop services without removing them."""
        return [*self.base(), "stop", *services]

    def start(self, services: Sequence[str] = ()) -> list[str]:
        """Start stopped services."""
        return [*self.base(), "start", *services]

    def ps(self) -> list[str]:
        """Every container of the project, as JSON lines."""
        return [*self.base(), "ps", "--all", "--format", "json"]

    def logs(
        self, services: Sequence[str] = (), *, follow: bool = False, tail: int = 200
    ) -> list[str]:
        """Container logs, optionally followed."""
        argv = [*self.base(), "logs", "--no-color", "--tail", str(tail)]
        if follow:
            argv.append("--follow")
        return [*argv, *services]

    def run_once(self, service: str, command: Sequence[str]) -> list[str]:
        """A one-off container of `service` (no dependencies started), removed afterwards."""
        return [*self.base(), "run", "--rm", "--no-deps", "-T", service, *command]

    def exec(self, service: str, command: Sequence[str]) -> list[str]:
        """A command inside the running container of `service`, without a TTY."""
        return [*self.base(), "exec", "-T", service, *command]


def project_for(env: Environment) -> ComposeProject:
    """The compose project of an environment, with paths made absolute on this machine."""
    return ComposeProject(
        project=env.project,
        files=tuple(env.path(file) for file in env.compose_files),
        env_file=env.path(env.env_file),
        profiles=tuple(env.profiles),
    )
