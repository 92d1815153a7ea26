from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from docstore.middleware.body_limit import (
    BodyLimiter,
    BodySizeLimitMiddleware,
    BodyTooLargeError,
    declared_length,
)


def test_limiter_allows_exactly_the_limit():
    limiter = BodyLimiter(10)
    limiter.feed(4)
    limiter.feed(6)
    assert limiter.received == 10


def test_limiter_raises_on_the_first_byte_over():
    limiter = BodyLimiter(10)
    limiter.feed(10)
    with pytest.raises(BodyTooLargeError) as info:
        limiter.feed(1)
    assert info.value.limit == 10


def test_limiter_with_zero_limit_accepts_only_empty_bodies():
    limiter = BodyLimiter(0)
    limiter.feed(0)
    with pytest.raises(BodyTooLargeError):
        limiter.feed(1)


def test_negative_limit_is_a_programming_error():
    with pytest.raises(ValueError):
        BodyLimiter(-1)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"content-length", b"123")], 123),
        ([(b"content-length", b"0")], 0),
        ([(b"content-length", b"abc")], None),
        ([(b"content-length", b"-5")], None),
        ([(b"transfer-encoding", b"chunked")], None),
        ([], None),
    ],
)
def test_declared_length(headers, expected):
    assert declared_length({"headers": headers}) == expected


def _app(limit: int, reads: list[int]) -> BodySizeLimitMiddleware:
    async def upload(request: Request):
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            reads.append(len(chunk))
        return JSONResponse({"size": size}, status_code=201)

    async def ignore_body(_request: Request):
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/up", upload, methods=["POST"]), Route("/ignore", ignore_body)])
    return BodySizeLimitMiddleware(app, max_body_bytes=limit)


def test_body_within_the_limit_passes(asgi):
    result, _ = asgi(_app(10, []), "POST", "/up", chunks=[b"12345", b"67890"])
    assert (result.status, result.json()) == (201, {"size": 10})


def test_streamed_body_over_the_limit_is_refused_while_reading(asgi):
    reads: list[int] = []
    # No Content-Length (chunked): only the byte count can catch it.
    result, _ = asgi(_app(10, reads), "POST", "/up", chunks=[b"123456", b"789012", b"3" * 100])
    assert result.status == 413
    assert b"request body too large: the limit is 10 bytes" in result.body
    assert result.headers["connection"] == "close"
    assert reads == [6]  # the second chunk never reached the endpoint


def test_declared_length_over_the_limit_is_refused_before_any_byte_is_read(asgi):
    reads: list[int] = []
    result, _ = asgi(
        _app(10, reads), "POST", "/up", headers={"Content-Length": "11"}, chunks=[b"x" * 11]
    )
    assert result.status == 413
    assert reads == []


def test_a_lying_content_length_does_not_help(asgi):
    reads: list[int] = []
    result, _ = asgi(
        _app(10, reads), "POST", "/up", headers={"Content-Length": "5"}, chunks=[b"x" * 50]
    )
    assert result.status == 413


def test_middleware_answers_itself_when_the_error_escapes_the_app(asgi):
    async def bare_app(scope, receive, send):  # no framework to turn the error into a 413
        while (await receive()).get("more_body"):
            pass

    result, _ = asgi(BodySizeLimitMiddleware(bare_app, 4), "POST", "/", chunks=[b"abc", b"de"])
    assert result.status == 413
    assert result.json() == {"detail": "request body too large: the limit is 4 bytes"}
    assert result.headers["connection"] == "close"


def test_endpoint_that_never_reads_the_body_is_unaffected(asgi):
    result, _ = asgi(_app(10, []), "GET", "/ignore", headers={"Content-Length": "999"})
    assert result.status == 200
