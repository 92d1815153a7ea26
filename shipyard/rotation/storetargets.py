"""Where `inv secrets.rotate` changes the object store's keys: the local stack's
objectstore container (the app follows when the stack is recreated from the new secret
files, the store too), or a VM's (the app follows with a zero-downtime deploy; the store keeps
running, and its key files in shared/secrets are rewritten for its next start)."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from shipyard.config import Environment, ShipyardConfig
from shipyard.images.resolve import resolve_images
from shipyard.remote import CommandResult
from shipyard.rotation.storekeys import (
    ObjectStore,
    key_stdin,
    keys_command,
    store_files_argv,
)
from shipyard.rotation.targets import OnVm, healthy_container, roll_local
from shipyard.stack import open_stack

KEYS_TIMEOUT = 60


class LocalObjectStore(ObjectStore):
    """The local stack's objectstore container (`docker compose exec -T`)."""

    restores_on_failure = False

    def __init__(self, config: ShipyardConfig, env: Environment) -> None:
        self.config = config
        self.env = env
        self.images = resolve_images(config.images.source)

    def run_keys(self, action: str, stdin: bytes) -> CommandResult:
        """`docker compose exec -T objectstore objectstore-keys ACTION`; a new stack object
        each time: it reads the env file as it is now."""
        stack = open_stack(self.env, self.config.app_name, self.images)
        argv = stack.project.exec("objectstore", keys_command(action))
        return stack.runner.run(argv, env=stack.variables, stdin=stdin, timeout=KEYS_TIMEOUT)

    def save_key_files(self, access_key: str, secret_key: str) -> None:
        """Nothing: the roll writes the stack's secret files from the env file."""

    def roll_app(self) -> str | None:
        """The local stack recreated from the new secret files (the store too: it starts
        from the new key only)."""
        roll_local(self.config, self.env, self.images)
        return None


class VmObjectStore(OnVm, ObjectStore):
    """A VM's objectstore container (`docker exec -i` over SSH); the store is never
    restarted."""

    def _container(self) -> str:
        return healthy_container(self.target, "objectstore", "objectstore")

    def _run(self, argv: Sequence[str], stdin: bytes) -> CommandResult:
        return self.target.runner.run(argv, stdin=stdin, timeout=KEYS_TIMEOUT)

    def run_keys(self, action: str, stdin: bytes) -> CommandResult:
        """`docker exec -i` of the VM's objectstore container, over SSH."""
        argv = ["docker", "exec", "-i", self._container(), *keys_command(action)]
        return self._run(argv, stdin)

    def save_key_files(self, access_key: str, secret_key: str) -> None:
        """shared/secrets/objectstore gets the key (a one-off container of the store's own
        image, as root, the key on its standard input)."""
        inspect = ["docker", "inspect", "--format", "{{.Image}}", self._container()]
        image = self.target.run(inspect, "finding the objectstore's image").stdout.strip()
        directory = posixpath.join(self.target.layout.shared_secrets, "objectstore")
        result = self._run(store_files_argv(image, directory), key_stdin(access_key, secret_key))
        result.raise_for_status(f"writing the store's key files in {directory}")
