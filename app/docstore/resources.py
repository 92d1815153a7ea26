"""The long-lived clients one application instance (one gunicorn worker) uses."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from docstore.db import create_db_engine, create_probe_engine, make_session_factory
from docstore.settings import Settings
from docstore.storage import ObjectStore


@dataclass
class Resources:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    probe_engine: Engine
    store: ObjectStore
    probe_store: ObjectStore

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        """Builds clients; nothing connects until first use."""
        engine = create_db_engine(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            probe_engine=create_probe_engine(settings),
            store=ObjectStore(settings),
            probe_store=ObjectStore.for_probe(settings),
        )

    def close(self) -> None:
        self.engine.dispose()
        self.probe_engine.dispose()


def get_resources(request: Request) -> Resources:
    return request.app.state.resources
