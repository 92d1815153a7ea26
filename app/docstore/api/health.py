"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from docstore.db import check_database
from docstore.errors import short_error
from docstore.resources import Resources, get_resources

router = APIRouter(tags=["probes"])
log = logging.getLogger("docstore.ready")

# Whatever a dependency does, /ready answers within this (checks run concurrently).
CHECK_TIMEOUT_SECONDS = 1.5


class NotReadyError(Exception):
    """A check that ran but found the dependency not ready (e.g. the bucket is missing)."""


async def run_check(check: Callable[[], None], timeout: float = CHECK_TIMEOUT_SECONDS) -> dict:
    """Runs a blocking check in a thread: ``{"status": "ok", "latency_ms": ...}`` or
    ``{"status": "error", "error": "..."}``. A check still running at the timeout is abandoned
    (its own client timeouts end it soon after)."""
    start = time.perf_counter()
    try:
        await asyncio.wait_for(
            anyio.to_thread.run_sync(check, abandon_on_cancel=True), timeout=timeout
        )
    except TimeoutError:
        return {"status": "error", "error": f"no answer within {timeout:g} s"}
    except Exception as exc:
        return {"status": "error", "error": short_error(exc)}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - start) * 1000, 1)}


def readiness_body(checks: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    ready = all(result["status"] == "ok" for result in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return (200 if ready else 503), body


class ReadinessLog:
    """Logs readiness when it changes, not on every probe: a warning naming each failing
    dependency and why the first time /ready fails (at start-up, or after being ready),
    and one line when it clears."""

    def __init__(self) -> None:
        self.ready: bool | None = None

    def record(self, ready: bool, checks: dict[str, dict[str, Any]]) -> None:
        """Log `ready` if it differs from the last result seen by this process."""
        if ready == self.ready:
            return
        if ready:
            log.info("ready: every dependency answers", extra={"was_ready": self.ready})
        else:
            failing = {
                name: r.get("error", "") for name, r in checks.items() if r["status"] != "ok"
            }
            reasons = "; ".join(f"{name}: {error}" for name, error in failing.items())
            log.warning(f"not ready: {reasons}", extra={"failing": sorted(failing)})
        self.ready = ready


readiness_log = ReadinessLog()
"""One per process (each gunicorn worker logs its own transitions)."""


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process serves requests. Touches no dependency."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "a dependency is not ready"}})
async def ready(resources: Annotated[Resources, Depends(get_resources)]) -> JSONResponse:
    """Readiness: PostgreSQL answers ``SELECT 1`` and the bucket exists."""

    def database() -> None:
        check_database(resources.probe_engine)

    def object_store() -> None:
        if not resources.probe_store.bucket_exists():
            raise NotReadyError(f"bucket {resources.probe_store.bucket!r} does not exist")

    db_result, store_result = await asyncio.gather(run_check(database), run_check(object_store))
    status, body = readiness_body({"database": db_result, "object_store": store_result})
    readiness_log.record(status == 200, body["checks"])
    return JSONResponse(status_code=status, content=body)
