"""Alembic environment: the database comes from the same POSTGRES_* settings as the app.

The URL (and so the password) is never printed. A caller may pass a ready URL instead, through
``config.attributes["connection"]`` (an open connection) or ``config.set_main_option(
"sqlalchemy.url", ...)`` (used by tests); the environment is read only when neither is given.
"""

from __future__ import annotations

import logging

from alembic import context
from sqlalchemy import Connection, create_engine, pool, text

from docstore.logging_setup import configure_logging
from docstore.models import Base
from docstore.settings import DatabaseSettings, ServerSettings, SettingsError, load

config = context.config
target_metadata = Base.metadata
log = logging.getLogger("alembic.env")

# One migration run at a time: a second run waits here instead of racing the first.
ADVISORY_LOCK_KEY = 0x646F6373746F7265  # "docstore"
# Do not queue behind the application's locks for ever; a blocked ALTER blocks every query.
LOCK_TIMEOUT = "15s"


def _configure_logging() -> None:
    try:
        level = load(ServerSettings).log_level
    except SettingsError:
        level = "INFO"
    configure_logging(level)


def _url():
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    try:
        return load(DatabaseSettings).database_url()
    except SettingsError as exc:
        raise SystemExit(f"alembic: {exc}") from None


def _configure(connection: Connection | None = None, **kwargs) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=False,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """``alembic upgrade head --sql``: print SQL instead of running it."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(
        _url(),
        poolclass=pool.NullPool,
        hide_parameters=True,
        connect_args={"connect_timeout": 10, "application_name": "docstore-migrations"},
    )
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if config.attributes.get("configure_logging", True):
    _configure_logging()
if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
