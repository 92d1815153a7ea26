"""Everything one backup task works with, built from invoke.yaml and the env file.

A `Site` is a running stack to back up from or restore into (its runner, compose project,
database and app bucket); a `BackupContext` adds the backup store, the key and the
settings. The same code serves three places: this machine's stack (`local`); a VM's
deployed stack from the VM itself (cron, `--on-host`); and a VM's stack from a workstation,
where commands go over SSH and the in-stack object store is reached through an SSH port
forward. On a VM the stack is always the current release of the deploy layout.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from shipyard.backup.catalog import Catalog
from shipyard.backup.crypto import Key, load_key
from shipyard.backup.dump import Database
from shipyard.backup.store import Bucket, IoPolicy
from shipyard.backup.target import (
    IN_STACK_HOST,
    BackupTarget,
    app_store,
    backup_target,
    uses_in_stack_store,
)
from shipyard.compose import ComposeProject
from shipyard.config import PROJECT_ROOT, BackupConfig, Environment, ShipyardConfig
from shipyard.envfile.check import require_valid_env_file
from shipyard.errors import ConfigError
from shipyard.images.resolve import current_images
from shipyard.remote import LocalRunner, Runner
from shipyard.remote.factory import runner_for
from shipyard.stack import LocalStack, open_stack
from shipyard.vm.releases import serving_project
from shipyard.vm.target import Target

LOCK_NAME = "backup.lock"
S3_PORT = "9000"


@dataclass
class Site:
    """A running stack: its database and its app bucket."""

    env: Environment
    runner: Runner
    project: ComposeProject
    variables: dict[str, str]
    values: dict[str, str]
    db: Database
    ops_endpoint: str | None = None
    """host:port where the in-stack object store's S3 API is published on 127.0.0.1."""
    workers: int = 4
    io: IoPolicy = field(default_factory=IoPolicy)
    """Timeouts and retries of the app bucket's S3 calls (set from the backup settings)."""
    resources: ExitStack = field(default_factory=ExitStack)
    """What lives as long as the site (the SSH connection and its port forward)."""

    @cached_property
    def app(self) -> Bucket:
        """The app's bucket (raises a ConfigError when the in-stack store is not running)."""
        ops = self.ops_endpoint if uses_in_stack_store(self.values) else None
        return Bucket(
            app_store(self.values, ops), "app bucket", pool_size=self.workers + 4, io=self.io
        )

    def compose(self, argv: list[str], what: str) -> None:
        """Run a compose command line for this stack; raise if it fails."""
        self.runner.run(argv, env=self.variables).raise_for_status(what)


@dataclass
class BackupContext:
    """The site, the backup store and the settings of one environment. Use it in a `with`
    block: leaving it closes the site's SSH connection and port forward, if any."""

    site: Site
    target: BackupTarget
    catalog: Catalog
    settings: BackupConfig

    def __enter__(self) -> BackupContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.site.resources.close()

    @property
    def env(self) -> Environment:
        """The environment backed up."""
        return self.site.env

    @property
    def lock_path(self) -> PurePosixPath:
        """The backup lock on the stack's host."""
        env = self.site.env
        if env.deploy_path and not env.is_local:
            return PurePosixPath(env.deploy_path) / LOCK_NAME
        return PurePosixPath(PROJECT_ROOT) / ".shipyard" / f"backup-{env.project}.lock"

    def host_path(self, path: Path) -> PurePosixPath:
        """A configured path made absolute on the stack's host: against the deploy path on
        a VM (the checkout may live anywhere there, or not at all), else the checkout."""
        return host_root(self.site.env) / path


def host_root(env: Environment) -> PurePosixPath:
    """What relative backup paths (metrics, log) are relative to on the stack's host."""
    if env.deploy_path and not env.is_local:
        return PurePosixPath(env.deploy_path)
    return PurePosixPath(PROJECT_ROOT)


def published_s3(runner: Runner, project: ComposeProject, variables: dict[str, str]) -> str | None:
    """`docker compose port objectstore 9000`: where the in-stack S3 API is published."""
    argv = [*project.base(), "port", IN_STACK_HOST, S3_PORT]
    result = runner.run(argv, env=variables)
    address = result.stdout.strip().splitlines()[-1] if result.ok and result.stdout.strip() else ""
    return address.replace("0.0.0.0:", "127.0.0.1:") or None


def _site(
    env: Environment,
    runner: Runner,
    project: ComposeProject,
    variables: dict[str, str],
    values: dict[str, str],
    ops: str | None,
    workers: int,
) -> Site:
    return Site(
        env=env,
        runner=runner,
        project=project,
        variables=variables,
        values=values,
        db=Database(
            runner=runner,
            project=project,
            variables=variables,
            user=values["POSTGRES_USER"],
            name=values["POSTGRES_DB"],
        ),
        ops_endpoint=ops,
        workers=workers,
    )


def site_for(stack: LocalStack, values: dict[str, str], workers: int) -> Site:
    """The Site of a running LocalStack whose env file gave `values`."""
    ops = published_s3(stack.runner, stack.project, stack.variables)
    return _site(stack.env, stack.runner, stack.project, stack.variables, values, ops, workers)


def deployed_site(
    env: Environment,
    runner: Runner,
    values: dict[str, str],
    workers: int,
    *,
    borrowed: bool = False,
) -> Site:
    """The current release's stack on a VM, reached through `runner`: a LocalRunner on the
    VM itself (`--on-host`), or an SSHRunner from a workstation, whose S3 traffic to the
    object store's loopback port on the VM then goes through a port forward. The site
    closes the runner when it is closed, unless the runner is `borrowed` (a deploy's, which
    outlives the backup)."""
    with ExitStack() as resources:
        if not borrowed:
            resources.enter_context(runner)
        project = serving_project(Target(env, runner))
        ops = published_s3(runner, project, {}) if uses_in_stack_store(values) else None
        if ops is not None:
            host, _, port = ops.rpartition(":")
            ops = f"127.0.0.1:{resources.enter_context(runner.forward_local(int(port), host))}"
        site = _site(env, runner, project, {}, values, ops, workers)
        site.resources = resources.pop_all()
        return site


def open_site(config: ShipyardConfig, env: Environment, *, on_host: bool) -> Site:
    """The stack of `env`: this machine's for `local`; otherwise the VM's current release,
    run on the VM itself with `on_host`, else over SSH from here.

    The env file is always this machine's own for `env` (on a workstation: the file that
    `inv deploy` uploads), so no secret is read back from the VM.
    """

    values = require_valid_env_file(env.path(env.env_file), env)
    workers = config.backup.object_workers
    if env.is_local:
        stack = open_stack(env, config.app_name, current_images(config.images.source))
        return site_for(stack, values, workers)
    runner = LocalRunner(PROJECT_ROOT) if on_host else runner_for(env)
    return deployed_site(env, runner, values, workers)


def open_backup(
    config: ShipyardConfig, env_name: str, *, on_host: bool = False, site: Site | None = None
) -> BackupContext:
    """The backup context of `env_name`: its backup store, and its own stack unless `site`
    (another stack, e.g. a drill's) is given."""
    env = config.environment(env_name)
    if site is None:
        return backup_context(config.backup, open_site(config, env, on_host=on_host))
    env_values = require_valid_env_file(env.path(env.env_file), env)
    ops = _source_ops_endpoint(config, env, env_values)
    return _context(config.backup, env, site, env_values, ops)


def backup_context(settings: BackupConfig, site: Site) -> BackupContext:
    """The backup context of a site opened for its own environment (closing the context
    closes the site)."""
    return _context(settings, site.env, site, site.values, site.ops_endpoint)


def io_policy(settings: BackupConfig) -> IoPolicy:
    """The I/O timeout and retries of every S3 call, from invoke.yaml's backup section."""
    return IoPolicy(timeout=settings.io_timeout, retries=settings.io_retries)


def _context(
    settings: BackupConfig,
    env: Environment,
    site: Site,
    env_values: dict[str, str],
    ops: str | None,
) -> BackupContext:
    try:
        target = backup_target(env_values, env.name, env.path(env.env_file), ops)
        key: Key | None = load_key(target.key_file) if target.key_file else None
    except BaseException:
        site.resources.close()
        raise
    workers = settings.object_workers
    io = io_policy(settings)
    site.io = io
    bucket = Bucket(target.location, "backup store", pool_size=workers + 4, io=io)
    return BackupContext(
        site=site, target=target, catalog=Catalog(bucket, target, key), settings=settings
    )


def _source_ops_endpoint(
    config: ShipyardConfig, env: Environment, values: dict[str, str]
) -> str | None:
    """The in-stack S3 port of `env`'s own stack, needed only when backups default to it."""
    if values.get("BACKUP_S3_ENDPOINT") or not env.is_local:
        return None
    stack = open_stack(env, config.app_name, current_images(config.images.source))
    return published_s3(stack.runner, stack.project, stack.variables)


def require_on_host(env: Environment, on_host: bool) -> None:
    """ConfigError unless the task runs on the stack's host (what the cron line needs)."""
    if not (env.is_local or on_host):
        raise ConfigError(
            f"the cron line for {env.name} is installed on its VM, not from here",
            hint=f"run `inv backup.schedule --env {env.name} --on-host` on the VM",
        )
