"""`inv setup`, a new hire's day one: from a fresh checkout to a working local stack.

Each step is safe to repeat: an existing env file is kept, cached image layers make the
rebuild a no-op, `up` leaves healthy containers alone, migrations at head do nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.checks.smoke import CheckResult, ExpectedVersion, run_smoke_suite
from shipyard.config import PROJECT_ROOT, Environment, ShipyardConfig
from shipyard.envfile.check import require_valid_env_file
from shipyard.envfile.init import new_env_text, write_new_env_file
from shipyard.errors import CommandFailedError
from shipyard.images.resolve import resolve_images
from shipyard.prereqs import require_prerequisites
from shipyard.remote import LocalRunner
from shipyard.stack import DATA_SERVICES, LocalStack, ServiceState, open_stack

Progress = Callable[[str], None]


@dataclass
class SetupReport:
    """What `inv setup` did and where everything is."""

    env_file: Path
    env_file_created: bool
    image: str
    public_url: str
    services: list[ServiceState] = field(default_factory=list)
    smoke: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0


def ensure_env_file(path: Path, env: Environment) -> bool:
    """Write a new env file with generated secrets (mode 0600); never overwrite one.

    Returns True when the file was created.
    """
    if path.exists():
        return False
    write_new_env_file(path, new_env_text(env.name, public_url=env.public_url))
    return True


def run_setup(config: ShipyardConfig, env_name: str, progress: Progress) -> SetupReport:
    """Check, configure, build, start, migrate and smoke-test the stack of `env_name`."""
    started = time.monotonic()
    env = config.environment(env_name)

    progress("checking prerequisites (Docker CLI, engine, Compose v2)")
    require_prerequisites(LocalRunner(PROJECT_ROOT))

    env_file = env.path(env.env_file)
    created = ensure_env_file(env_file, env)
    progress(f"{'created' if created else 'kept the existing'} {env_file.name}")
    require_valid_env_file(env_file, env)

    progress("choosing images (upstream, or local stand-ins where no registry answers)")
    images = resolve_images(config.images.source)
    stack = open_stack(env, config.app_name, images)
    stack.validate()

    progress(f"building the app image {stack.variables['APP_IMAGE']}")
    stack.build_app()

    progress("starting PostgreSQL and the object store")
    stack.start(DATA_SERVICES)
    progress("applying database migrations")
    stack.migrate()

    progress("starting the app and nginx")
    stack.start()

    progress(f"smoke checks through {env.public_url}")
    smoke = _smoke(stack)
    report = SetupReport(
        env_file=env_file,
        env_file_created=created,
        image=stack.variables["APP_IMAGE"],
        public_url=env.public_url,
        services=stack.services(),
        smoke=smoke,
        seconds=time.monotonic() - started,
    )
    failed = [check for check in smoke if not check.ok]
    if failed:
        lines = "; ".join(f"{check.name}: {check.detail}" for check in failed)
        raise CommandFailedError(
            f"smoke checks failed: {lines}", hint="see `inv logs --service app` and `inv ps`"
        )
    return report


def _smoke(stack: LocalStack) -> list[CheckResult]:
    info = stack.build_info
    expected = ExpectedVersion(version=info.version, git_sha=info.git_sha)
    # The burst (429) check is left to `inv smoke`: setup stays quick and never throttles.
    return run_smoke_suite(stack.env.public_url, expected, burst=False).checks
