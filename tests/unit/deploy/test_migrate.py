"""When a deploy may skip its migration container."""

import pytest

from shipyard.backup.dump import psql
from shipyard.deploy.migrate import REVISION_SQL, needs_migrations, revisions_argv


@pytest.mark.parametrize(
    ("image_head", "database", "needed"),
    [
        ("0003_backfill", ["0003_backfill"], False),
        ("0003_backfill", ["0002_sha256"], True),
        ("0003_backfill", [], True),
        ("0003_backfill", None, True),  # no alembic_version table yet: a fresh database
        ("unknown", ["0003_backfill"], True),  # an image built without the stamp
        ("", ["0003_backfill"], True),
        ("a1,b2", ["a1", "b2"], True),  # two heads: let Alembic decide
        ("0003_backfill", ["0003_backfill", "x9"], True),
    ],
)
def test_migrations_are_skipped_only_at_the_single_head(image_head, database, needed):
    assert needs_migrations(image_head, database) is needed


def test_the_revision_is_read_with_psql_inside_the_database_container():
    assert revisions_argv("docstore-db-1", "app", "docstore") == [
        "docker",
        "exec",
        "docstore-db-1",
        *psql("app", "docstore", REVISION_SQL),
    ]
