from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from docstore.context import request_id_var
from docstore.middleware.request_id import (
    RequestIdMiddleware,
    new_request_id,
    request_id_from_scope,
    sanitize_request_id,
)


@pytest.mark.parametrize(
    "value",
    [
        "3f2b9c1e-8d4a-4b7e-9f00-123456789abc",
        "0123456789abcdef0123456789abcdef",
        "Root=1-67891233-abcdef012345678912345678",
        "a",
        "job:42/step.7+x@host",
        "a" * 128,
    ],
)
def test_sane_ids_are_kept(value):
    assert sanitize_request_id(value) == value
    assert sanitize_request_id(value.encode()) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "a" * 129,
        "has space",
        'quote"d',
        "new\nline",
        "tab\tbed",
        "<script>",
        "-leading-dash",
        "ünïcode",
        b"\xff\xfe",
        "a;b",
    ],
)
def test_unsafe_ids_are_rejected(value):
    assert sanitize_request_id(value) is None


def test_surrounding_whitespace_is_trimmed():
    assert sanitize_request_id("  abc-1  ") == "abc-1"


def test_generated_ids_are_unique_hex():
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert all(sanitize_request_id(i) == i for i in ids)


def test_id_from_scope_prefers_a_sane_header_and_replaces_a_bad_one():
    assert request_id_from_scope({"headers": [(b"x-request-id", b"given-1")]}) == "given-1"
    replaced = request_id_from_scope({"headers": [(b"x-request-id", b"bad id")]})
    assert replaced != "bad id" and re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_from_scope({"headers": []}))


def _app() -> Starlette:
    async def echo(request):
        return JSONResponse({"context": request_id_var.get(), "state": request.state.request_id})

    app = Starlette(routes=[Route("/", echo)])
    app.add_middleware(RequestIdMiddleware)
    return app


def test_middleware_echoes_a_sane_id_and_exposes_it_to_the_request(asgi):
    response, _ = asgi(_app(), headers={"X-Request-ID": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert response.json() == {"context": "trace-123", "state": "trace-123"}


def test_middleware_generates_an_id_when_the_header_is_unsafe(asgi):
    response, _ = asgi(_app(), headers={"X-Request-ID": "x" * 500})
    rid = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert response.json()["context"] == rid


def test_middleware_generates_an_id_when_there_is_none(asgi):
    response, _ = asgi(_app())
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_context_is_reset_after_the_request(asgi):
    asgi(_app(), headers={"X-Request-ID": "trace-9"})
    assert request_id_var.get() is None
