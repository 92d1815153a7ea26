"""Per-request context shared by the middleware and the log records."""

from __future__ import annotations

from contextvars import ContextVar

# The id of the request being served in this task, or None outside a request.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
