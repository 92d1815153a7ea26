"""Where `inv secrets.rotate` changes the database password, and how the app moves onto
it: the local stack (recreated), or a VM (a zero-downtime deploy of the serving image).
The object store's keys use the same two rolls (shipyard.rotation.storetargets)."""

from __future__ import annotations

from collections.abc import Mapping

from shipyard import dblogin, secretfiles
from shipyard.config import Environment, ShipyardConfig
from shipyard.deploy.dbcheck import login_argv
from shipyard.deploy.orchestration import run_deploy
from shipyard.deploy.preflight import require_deployable
from shipyard.deploy.switch import healthy_services
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.images.resolve import resolve_images
from shipyard.remote.factory import runner_for
from shipyard.rotation.role import Database, alter_role_command, alter_role_sql, judge_alter
from shipyard.stack import open_stack
from shipyard.vm.releases import current_release, release_facts
from shipyard.vm.target import Target


def roll_local(config: ShipyardConfig, env: Environment, images: dict[str, str]) -> None:
    """The local stack recreated with the secret files of the env file as it is now (a new
    stack object reads it), then the old secret files removed. Every container is
    recreated: compose would keep the ones whose secret files moved, and nginx resolves
    the app's address when it starts. Not zero-downtime; a VM's roll is."""
    stack = open_stack(env, config.app_name, images)
    argv = stack.project.up(wait_timeout=180, force_recreate=True)
    stack.runner.run(argv, env=stack.variables, capture=True).raise_for_status(
        "recreating the local stack with the new secret files"
    )
    secretfiles.prune_local(stack.secrets_root, stack.write_secrets())


def roll_vm(config: ShipyardConfig, env: Environment, target: Target) -> str | None:
    """Deploy the serving release's image again with the env file as it is now (the
    zero-downtime switch and its gate); the release the app then runs."""
    current = current_release(target)
    facts = release_facts(target, current) if current else None
    if facts is None:
        raise CommandFailedError(f"{env.name} has no current release to roll")
    close = getattr(target.runner, "close", None)
    if close is not None:
        close()
    outcome = run_deploy(
        config,
        env.name,
        version=facts.app_image,
        dry_run=False,
        yes=True,
        ready_timeout=120,
        backup=False,
    )
    return outcome.release if outcome else None


def _require_opens(login: dblogin.LoginResult, env: Environment) -> None:
    if login.verdict is not dblogin.Verdict.OPENS:
        raise ConfigError(
            f"POSTGRES_PASSWORD in {env.env_file} does not open the database of {env.name}"
            f" now ({login.reason}); nothing was changed",
            hint="rotation starts from the password the database has: restore it first",
        )


class LocalDatabase(Database):
    """The local stack's database; the app follows when the stack is recreated."""

    def __init__(self, config: ShipyardConfig, env: Environment) -> None:

        self.config = config
        self.env = env
        self.stack = open_stack(env, config.app_name, resolve_images(config.images.source))

    def require_login(self, values: Mapping[str, str]) -> None:
        """The running database must accept the env file's credentials."""
        self.stack.check_database_login()

    def alter_role(self, values: Mapping[str, str], password: str) -> None:
        """ALTER ROLE over the database container's unix socket, SQL on stdin."""
        command = alter_role_command(values["POSTGRES_USER"], values["POSTGRES_DB"])
        result = self.stack.runner.run(
            self.stack.project.exec("db", command),
            env=self.stack.variables,
            stdin=alter_role_sql(values["POSTGRES_USER"], password).encode(),
        )
        judge_alter(result.exit_code, result.stderr)

    def roll_app(self) -> str | None:
        """The local stack recreated with the new secret files."""
        roll_local(self.config, self.env, self.stack.images)
        return None


def healthy_container(target: Target, service: str, what: str) -> str:
    """The healthy container of `service` in the VM's current release (CommandFailedError
    naming `what` when there is none)."""
    found = healthy_services(target).get(service)
    if not found:
        raise CommandFailedError(
            f"no healthy {what} container on {target.env.name}",
            hint="deploy first (`inv deploy`), or see `inv ps`",
        )
    return found[0]


class OnVm:
    """Where a rotation changes a credential on a deployable environment's VM (over SSH);
    the app follows with a zero-downtime deploy of the image it serves."""

    def __init__(self, config: ShipyardConfig, env: Environment) -> None:
        require_deployable(env)
        self.config = config
        self.env = env
        self.target = Target(env, runner_for(env))

    def roll_app(self) -> str | None:
        """Deploy the serving release's image again with the env file as it is now."""
        return roll_vm(self.config, self.env, self.target)


class VmDatabase(OnVm, Database):
    """A VM's database."""

    def _container(self) -> str:
        return healthy_container(self.target, "db", "database")

    def require_login(self, values: Mapping[str, str]) -> None:
        """The VM's database must accept the env file's current credentials."""

        argv = login_argv(self._container(), values["POSTGRES_USER"], values["POSTGRES_DB"])
        result = self.target.runner.run(argv, stdin=values["POSTGRES_PASSWORD"].encode())
        _require_opens(dblogin.judge(result.exit_code, result.stdout, result.stderr), self.env)

    def alter_role(self, values: Mapping[str, str], password: str) -> None:
        """ALTER ROLE in the VM's database container, the statement on stdin over SSH."""
        command = alter_role_command(values["POSTGRES_USER"], values["POSTGRES_DB"])
        argv = ["docker", "exec", "-i", self._container(), *command]
        sql = alter_role_sql(values["POSTGRES_USER"], password).encode()
        result = self.target.runner.run(argv, stdin=sql, timeout=60)
        judge_alter(result.exit_code, result.stderr)
