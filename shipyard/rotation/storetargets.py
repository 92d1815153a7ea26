"""Where `inv secrets.rotate` changes the object store's keys: the local stack's
objectstore container (the app follows when the stack is recreated from the new secret
files, the store too), or a VM's (the app follows with a zero-downtime deploy; the store keeps
running, and its key files in shared/secrets are rewritten for its next start)."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from shipyard.config import Environment, ShipyardConfig
from shipyard.deploy.preflight import require_deployable
from shipyard.deploy.switch import healthy_services
from shipyard.errors import CommandFailedError
from shipyard.images.resolve import resolve_images
from shipyard.remote import CommandResult
from shipyard.remote.factory import runner_for
from shipyard.rotation.storekeys import (
    ObjectStore,
    judge_change,
    judge_check,
    key_stdin,
    keys_command,
    store_files_argv,
)
from shipyard.rotation.targets import roll_local, roll_vm
from shipyard.stack import open_stack
from shipyard.vm.target import Target

KEYS_TIMEOUT = 60


class LocalObjectStore(ObjectStore):
    """The local stack's objectstore container (`docker compose exec -T`)."""

    restores_on_failure = False

    def __init__(self, config: ShipyardConfig, env: Environment) -> None:
        self.config = config
        self.env = env
        self.images = resolve_images(config.images.source)

    def _keys(self, action: str, stdin: bytes) -> CommandResult:
        # A new stack object each time: it reads the env file as it is now.
        stack = open_stack(self.env, self.config.app_name, self.images)
        argv = stack.project.exec("objectstore", keys_command(action))
        return stack.runner.run(argv, env=stack.variables, stdin=stdin, timeout=KEYS_TIMEOUT)

    def check(self, access_key: str, secret_key: str) -> None:
        """The running store must accept the env file's key and have `objectstore-keys`."""
        result = self._keys("check", key_stdin(access_key, secret_key))
        judge_check(result.exit_code, result.stdout, result.stderr)

    def add(self, access_key: str, secret_key: str) -> None:
        """The store accepts the new key beside the old (reloaded, not restarted)."""
        result = self._keys("add", key_stdin(access_key, secret_key))
        judge_change("add", result.exit_code, result.stderr)

    def remove(self, access_key: str) -> None:
        """The store refuses the old key (already so once the stack was recreated)."""
        result = self._keys("remove", key_stdin(access_key))
        judge_change("remove", result.exit_code, result.stderr)

    def save_key_files(self, access_key: str, secret_key: str) -> None:
        """Nothing: the roll writes the stack's secret files from the env file."""

    def roll_app(self) -> str | None:
        """The local stack recreated from the new secret files (the store too: it starts
        from the new key only)."""
        roll_local(self.config, self.env, self.images)
        return None


class VmObjectStore(ObjectStore):
    """A VM's objectstore container (`docker exec -i` over SSH); the app follows with a
    deploy of the image it serves, the store is never restarted."""

    def __init__(self, config: ShipyardConfig, env: Environment) -> None:
        require_deployable(env)
        self.config = config
        self.env = env
        self.target = Target(env, runner_for(env))

    def _container(self) -> str:
        found = healthy_services(self.target).get("objectstore")
        if not found:
            raise CommandFailedError(
                f"no healthy objectstore container on {self.env.name}",
                hint="deploy first (`inv deploy`), or see `inv ps`",
            )
        return found[0]

    def _run(self, argv: Sequence[str], stdin: bytes) -> CommandResult:
        return self.target.runner.run(argv, stdin=stdin, timeout=KEYS_TIMEOUT)

    def _keys(self, action: str, stdin: bytes) -> CommandResult:
        argv = ["docker", "exec", "-i", self._container(), *keys_command(action)]
        return self._run(argv, stdin)

    def check(self, access_key: str, secret_key: str) -> None:
        """The VM's store must accept the env file's key and have `objectstore-keys`."""
        result = self._keys("check", key_stdin(access_key, secret_key))
        judge_check(result.exit_code, result.stdout, result.stderr)

    def add(self, access_key: str, secret_key: str) -> None:
        """The VM's store accepts the new key beside the old (reloaded, not restarted)."""
        result = self._keys("add", key_stdin(access_key, secret_key))
        judge_change("add", result.exit_code, result.stderr)

    def remove(self, access_key: str) -> None:
        """The VM's store refuses the old key."""
        result = self._keys("remove", key_stdin(access_key))
        judge_change("remove", result.exit_code, result.stderr)

    def save_key_files(self, access_key: str, secret_key: str) -> None:
        """shared/secrets/objectstore gets the key (a one-off container of the store's own
        image, as root, the key on its standard input)."""
        inspect = ["docker", "inspect", "--format", "{{.Image}}", self._container()]
        image = self.target.run(inspect, "finding the objectstore's image").stdout.strip()
        directory = posixpath.join(self.target.layout.shared_secrets, "objectstore")
        result = self._run(store_files_argv(image, directory), key_stdin(access_key, secret_key))
        result.raise_for_status(f"writing the store's key files in {directory}")

    def roll_app(self) -> str | None:
        """A zero-downtime deploy of the serving image with the env file as it is now."""
        return roll_vm(self.config, self.env, self.target)
