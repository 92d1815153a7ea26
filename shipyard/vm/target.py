"""One environment's VM as deploy and backup steps see it: its layout and a runner there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shipyard.compose import ComposeProject
from shipyard.config import Environment
from shipyard.remote import CommandResult, Runner
from shipyard.vm.layout import Layout, release_project


@dataclass
class Target:
    """One environment's VM: where releases live and how to run commands there."""

    env: Environment
    runner: Runner

    @property
    def layout(self) -> Layout:
        """The deploy path's layout."""
        if not self.env.deploy_path:
            raise ValueError(f"environment {self.env.name} has no deploy_path")
        return Layout(self.env.deploy_path.rstrip("/"))

    def project(self, release: str) -> ComposeProject:
        """The compose project of one release on the VM."""
        files = [file.name for file in self.env.compose_files]
        return release_project(self.layout, release, self.env.project, files, self.env.profiles)

    def run(self, argv: Sequence[str], what: str, *, timeout: float | None = 600) -> CommandResult:
        """Run on the VM; CommandFailedError naming `what` unless it exits 0."""
        return self.runner.run(argv, timeout=timeout).raise_for_status(what)

    def probe(self, argv: Sequence[str], *, timeout: float | None = 60) -> CommandResult:
        """Run on the VM and return the result whatever the exit code."""
        return self.runner.run(argv, timeout=timeout)
