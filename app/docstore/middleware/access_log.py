"""One access-log line and the request metrics per request, labelled by route template.

Also the last line of defence for unhandled errors: a JSON 500 that carries the request id,
with the traceback (secrets masked) in the log instead of the response.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docstore import metrics
from docstore.context import request_id_var

log = logging.getLogger("docstore.access")
error_log = logging.getLogger("docstore.errors")

# Probes are scraped every few seconds: counted in metrics, never logged.
UNLOGGED_PATHS = frozenset({"/health", "/ready", "/metrics"})


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/documents/{document_id}``), never the raw path,
    so metric labels stay few; ``unmatched`` when no route matched (404s). The router records
    the route in the scope, which this middleware shares with it."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else metrics.UNMATCHED_ROUTE


class AccessLogMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        after_request: Callable[[], None] | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.after_request = after_request
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False

        async def recording_send(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except Exception:
            status = 500
            error_log.exception(
                "unhandled error", extra={"method": scope["method"], "path": scope["path"]}
            )
            if started or self.debug:
                raise
            await _send_internal_error(send)
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        route = route_template(scope)
        metrics.observe_request(method, route, status, seconds)
        if self.after_request is not None:
            self.after_request()
        if scope["path"] not in UNLOGGED_PATHS:
            log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )


async def _send_internal_error(send: Send) -> None:
    body = json.dumps(
        {"detail": "internal server error", "request_id": request_id_var.get()}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
