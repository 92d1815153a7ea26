"""Unit tests of the docstore service (app/): pure logic, no database, no object store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[3] / "app"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))

# Import prometheus_client (through docstore.metrics) before any test touches
# PROMETHEUS_MULTIPROC_DIR: the library picks single- or multi-process mode at import.
import docstore.metrics  # noqa: E402, F401
from docstore.settings import Settings  # noqa: E402

SETTINGS_VARS = [name.upper() for name in Settings.model_fields]

REQUIRED = {
    "postgres_db": "docstore",
    "postgres_user": "docstore",
    "postgres_password": "db-password-123456",
    "s3_access_key": "access-key-123456",
    "s3_secret_key": "secret-key-1234567890",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting leaks in from the machine running the tests."""
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def make_settings():
    def factory(**overrides: object) -> Settings:
        return Settings(**{**REQUIRED, **overrides})

    return factory


class AsgiResult:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.raw_headers = headers
        self.headers = {k.decode().lower(): v.decode() for k, v in headers}
        self.body = body

    def json(self):
        import json

        return json.loads(self.body)


async def _call(app, method, path, headers, chunks, query_string):
    chunks = list(chunks) if chunks else [b""]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive():
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query_string.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return AsgiResult(start["status"], list(start.get("headers", [])), body), scope


@pytest.fixture
def asgi():
    """Drives an ASGI app in-process, without a server or an HTTP client library:
    ``asgi(app, "POST", "/path", headers={...}, chunks=[b"..", b".."], query="a=1")``
    returns ``(result, scope)``; ``chunks`` arrive as separate body messages."""
    import asyncio

    def run(app, method="GET", path="/", headers=None, chunks=None, query=""):
        return asyncio.run(_call(app, method, path, headers or {}, chunks, query))

    return run
