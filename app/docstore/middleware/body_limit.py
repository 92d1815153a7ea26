"""Request body size limit, enforced on the declared length and while the body streams in.

A client can omit Content-Length (chunked transfer) or lie about it, so the byte count of the
body actually received is what counts; Content-Length only allows an early, cheap refusal.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_detail(limit: int) -> str:
    return f"request body too large: the limit is {limit} bytes"


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` inside the endpoint that reads the body. Being an HTTPException,
    the framework's own handler turns it into the 413 wherever this middleware sits; the
    middleware answers itself if it ever escapes the application."""

    def __init__(self, limit: int) -> None:
        # The rest of the body is not read: the connection cannot be reused.
        super().__init__(413, too_large_detail(limit), headers={"Connection": "close"})
        self.limit = limit


class BodyLimiter:
    """Counts body bytes as they arrive and raises BodyTooLargeError past the limit."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        self.limit = limit
        self.received = 0

    def feed(self, size: int) -> None:
        self.received += size
        if self.received > self.limit:
            raise BodyTooLargeError(self.limit)


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as an int, or None when absent or unparseable (the HTTP
    server rejects malformed lengths itself)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
            return length if length >= 0 else None
    return None


def too_large_body(limit: int) -> bytes:
    return json.dumps({"detail": f"request body too large: the limit is {limit} bytes"}).encode()


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def _reject(self, send: Send) -> None:
        body = too_large_body(self.max_body_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limiter = BodyLimiter(self.max_body_bytes)
        length = declared_length(scope)
        # A declared length over the limit fails the first read, before any body byte is
        # accepted. Routing has happened by then, so the 413 is labelled with its route.
        refuse_at_once = length is not None and length > self.max_body_bytes
        started = False

        async def limited_receive() -> Message:
            if refuse_at_once:
                raise BodyTooLargeError(self.max_body_bytes)
            message = await receive()
            if message["type"] == "http.request":
                limiter.feed(len(message.get("body", b"")))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._reject(send)
