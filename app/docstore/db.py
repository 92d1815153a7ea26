"""Database engines and sessions (SQLAlchemy 2.x over psycopg 3).

Never log an engine URL rendered with its password: ``str(url)`` and ``repr(url)`` hide it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from docstore.settings import DatabaseSettings

APPLICATION_NAME = "docstore"


def create_db_engine(
    settings: DatabaseSettings,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
    pool_timeout: float = 5.0,
    connect_timeout: int = 3,
) -> Engine:
    """The application's pooled engine. Each gunicorn worker builds its own (no preload)."""
    return create_engine(
        settings.database_url(),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,  # errors never carry bound values (titles, content metadata)
        connect_args={"connect_timeout": connect_timeout, "application_name": APPLICATION_NAME},
    )


def create_probe_engine(settings: DatabaseSettings) -> Engine:
    """A tiny engine for /ready, separate from the request pool so readiness does not queue
    behind busy requests. libpq (and psycopg) treat connect_timeout below 2 s as 2 s; a
    refused connection fails at once, and the statement itself is capped at 1 s."""
    return create_engine(
        settings.database_url(),
        pool_size=1,
        max_overflow=1,
        pool_timeout=1.0,
        pool_recycle=300,
        hide_parameters=True,
        connect_args={
            "connect_timeout": 2,
            "application_name": f"{APPLICATION_NAME}-ready",
            "options": "-c statement_timeout=1000",
        },
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def check_database(engine: Engine) -> None:
    """Raises unless the database answers ``SELECT 1``."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar_one()


@dataclass(frozen=True)
class PoolStats:
    size: int  # configured number of pooled connections
    checked_out: int  # connections in use right now
    overflow: int  # connections open beyond `size`
    checked_in: int  # idle connections in the pool


def pool_stats(engine: Engine) -> PoolStats | None:
    pool = engine.pool
    try:
        return PoolStats(
            size=int(pool.size()),  # type: ignore[attr-defined]
            checked_out=int(pool.checkedout()),  # type: ignore[attr-defined]
            # QueuePool counts overflow from -size upwards; below zero means "none".
            overflow=max(0, int(pool.overflow())),  # type: ignore[attr-defined]
            checked_in=int(pool.checkedin()),  # type: ignore[attr-defined]
        )
    except AttributeError:  # a pool class without these counters (NullPool, StaticPool)
        return None
