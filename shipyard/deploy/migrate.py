"""Step 5 of a deploy: the database brought to the new image's migration head.

The app image carries the head its migrations lead to (label `shipyard.migrations.head`,
stamped at build time). When the database already records exactly that revision, there is
nothing to run and the one-off container (a couple of seconds on every redeploy) is
skipped; otherwise `alembic upgrade head` runs in a one-off container of the new image with
the release's env file. The bucket needs no step: the app creates it at start-up and its
/ready (the health gate) reports it until it exists.
"""

from __future__ import annotations

from collections.abc import Mapping

from shipyard import console
from shipyard.backup.dump import psql
from shipyard.deploy.dbcheck import require_login
from shipyard.deploy.plan import APP_SERVICE, MIGRATE
from shipyard.deploy.switch import start_data_services
from shipyard.vm.target import Target

MIGRATION_TIMEOUT = 600
REVISION_SQL = "SELECT version_num FROM alembic_version"


def needs_migrations(image_head: str, database_revisions: list[str] | None) -> bool:
    """False only when the image names one head and the database records exactly it."""
    single = image_head not in ("", "unknown") and "," not in image_head
    return not (single and database_revisions == [image_head])


def revisions_argv(container: str, user: str, database: str) -> list[str]:
    """psql in the database container: the revisions alembic_version records."""
    return ["docker", "exec", container, *psql(user, database, REVISION_SQL)]


def database_revisions(
    target: Target, container: str, values: Mapping[str, str]
) -> list[str] | None:
    """The revisions recorded in the database's alembic_version table; None when it cannot
    be read (no table yet, or the database is not answering)."""
    argv = revisions_argv(container, values["POSTGRES_USER"], values["POSTGRES_DB"])
    result = target.probe(argv)
    if not result.ok:
        return None
    return sorted(line.strip() for line in result.stdout.splitlines() if line.strip())


def migrate(target: Target, release: str, image_head: str, values: Mapping[str, str]) -> None:
    """Start the data services if needed, check that the release's credentials open the
    database, then migrate unless the database is at the head."""
    database = start_data_services(target, release)
    require_login(target, database, values)
    if not needs_migrations(image_head, database_revisions(target, database, values)):
        console.done(f"migrations: none to run (the database is at {image_head})")
        return
    result = target.run(
        target.project(release).run_once(APP_SERVICE, MIGRATE),
        "migrations",
        timeout=MIGRATION_TIMEOUT,
    )
    output = (result.stdout + result.stderr).splitlines()
    applied = [line for line in output if "Running upgrade" in line]
    console.done(f"migrations: {len(applied)} applied" if applied else "migrations: up to date")
