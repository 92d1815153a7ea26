"""Error responses: clear JSON messages, no internals, no secrets."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from minio.error import S3Error
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError

from docstore.logging_setup import SecretMasker, secret_values_from_env

log = logging.getLogger("docstore.errors")
MAX_ERROR_TEXT = 200


def short_error(exc: BaseException, masker: SecretMasker | None = None) -> str:
    """``Type: first line of the message``, at most 200 characters, secrets masked. Unwraps
    SQLAlchemy's and urllib3's wrappers to the error that says what went wrong."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, S3Error):
        text = f"S3Error: {exc.code}: {exc.message}"
    else:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    masker = masker if masker is not None else SecretMasker(secret_values_from_env())
    text = masker.mask(text)
    if len(text) > MAX_ERROR_TEXT:
        text = text[: MAX_ERROR_TEXT - 3] + "..."
    return text


def describe_validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """FastAPI's validation errors as ``{"field": "query.title", "message": ...}``, without
    the offending input (it may be large or sensitive)."""
    described = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        field = ".".join(loc) if loc else "request"
        described.append({"field": field, "message": str(err.get("msg", "invalid value"))})
    return described


def validation_error_body(errors: Sequence[Any]) -> dict[str, Any]:
    described = describe_validation_errors(errors)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in described)
    return {"detail": f"invalid request: {summary}", "errors": described}


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content=validation_error_body(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and request.scope.get("route") is None:
        # The router found no route (as opposed to an endpoint's "document not found").
        return JSONResponse(
            status_code=404,
            content={"detail": f"no endpoint at {request.method} {request.url.path}"},
        )
    return await http_exception_handler(request, exc)


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", short_error(exc))
    return JSONResponse(status_code=503, content={"detail": "database unavailable, try again"})


async def _store_unreachable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("object store unavailable: %s", short_error(exc))
    return JSONResponse(status_code=503, content={"detail": "object store unavailable, try again"})


async def _store_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, S3Error)
    log.warning("object store error: %s", short_error(exc))
    if exc.code == "NoSuchBucket":
        return JSONResponse(
            status_code=503, content={"detail": "object store bucket is missing, try again"}
        )
    return JSONResponse(
        status_code=502, content={"detail": f"object store refused the request ({exc.code})"}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Connection-level failures only; other database errors (a missing table when migrations
    # were not run) are bugs or setup errors and end as a logged 500.
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(InterfaceError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_error)
    app.add_exception_handler(Urllib3Error, _store_unreachable)
    app.add_exception_handler(S3Error, _store_error)
