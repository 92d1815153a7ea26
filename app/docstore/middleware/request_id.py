"""Request ids: taken from X-Request-ID when sane, else generated; echoed in the response."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docstore.context import request_id_var

HEADER = "X-Request-ID"
MAX_LENGTH = 128
# Letters, digits and the punctuation found in common id formats (UUIDs, nginx's $request_id,
# AWS trace ids, base64). No spaces, quotes or control characters: the id lands in log lines
# and response headers, so anything else is replaced rather than trusted.
_SANE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{{0,{MAX_LENGTH - 1}}}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def sanitize_request_id(value: str | bytes | None) -> str | None:
    """The incoming id if it is safe to log and echo, else None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    value = value.strip()
    return value if _SANE.fullmatch(value) else None


def request_id_from_scope(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return sanitize_request_id(value) or new_request_id()
    return new_request_id()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from_scope(scope)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
