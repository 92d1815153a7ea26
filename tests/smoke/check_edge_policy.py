"""The edge policy nginx enforces: the request id passed through, CORS only for allowed
origins, gzip for text, and (in the bounded burst) the stricter limit on writes."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.smoke.conftest import expect_status, tls_context

UNKNOWN_ORIGIN = "https://not-allowed.invalid"
TEXT_BYTES = 4096
# The write burst is bounded: at most this many requests, within this many seconds.
WRITE_BURST_MAX_REQUESTS = 200
WRITE_BURST_MAX_SECONDS = 20.0
WRITE_BURST_CONCURRENCY = 8


def test_request_id_is_passed_through(client, detail):
    wanted = f"smoke-{uuid.uuid4().hex}"
    response = client.get("/health", headers={"X-Request-ID": wanted})
    expect_status(response, 200)
    seen = response.headers.get("x-request-id")
    assert seen == wanted, f"X-Request-ID {wanted} came back as {seen!r}"
    detail("the client's X-Request-ID reaches the app and comes back")


def test_unknown_origins_get_no_cors_headers(client, detail):
    simple = client.get("/health", headers={"Origin": UNKNOWN_ORIGIN})
    preflight = client.options(
        "/documents",
        headers={"Origin": UNKNOWN_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    for response in (simple, preflight):
        leaked = [name for name in response.headers if name.lower().startswith("access-control-")]
        assert not leaked, f"{response.request.method} from an unknown origin got {leaked}"
    detail(f"{UNKNOWN_ORIGIN}: no Access-Control-* header")


@pytest.mark.cors
def test_allowed_origin_preflight_is_answered_and_cached(client, target, detail):
    assert target.cors_origin, "the cors marker runs only with an allowed origin"
    preflight = client.options(
        "/documents",
        headers={
            "Origin": target.cors_origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    expect_status(preflight, 204)
    headers = preflight.headers
    assert headers.get("access-control-allow-origin") == target.cors_origin
    assert "POST" in headers.get("access-control-allow-methods", "")
    assert headers.get("access-control-max-age", "").isdigit(), "no Access-Control-Max-Age"
    simple = client.get("/health", headers={"Origin": target.cors_origin})
    assert simple.headers.get("access-control-allow-origin") == target.cors_origin
    assert "origin" in simple.headers.get("vary", "").lower(), "no Vary: Origin"
    detail(f"{target.cors_origin}: 204, max-age {headers['access-control-max-age']} s")


def test_text_is_gzipped_with_vary(client, detail):
    text = ("shipyard smoke " * (TEXT_BYTES // 15)).encode()
    created = client.post(
        "/documents",
        params={"title": f"smoke-gzip-{uuid.uuid4().hex[:8]}"},
        content=text,
        headers={"Content-Type": "text/plain"},
    )
    expect_status(created, 201)
    path = f"/documents/{created.json()['id']}"
    try:
        response = client.get(f"{path}/content", headers={"Accept-Encoding": "gzip"})
        expect_status(response, 200)
        encoding = response.headers.get("content-encoding")
        assert encoding == "gzip", f"text/plain came back with Content-Encoding {encoding!r}"
        assert "accept-encoding" in response.headers.get("vary", "").lower(), "no Vary"
        assert response.content == text, "the gzipped body differs from the text"
        plain = client.get(f"{path}/content", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers, "compressed without Accept-Encoding"
    finally:
        expect_status(client.delete(path), 204)
    detail(f"{len(text)} bytes of text/plain gzipped, Vary: Accept-Encoding")


@pytest.mark.burst
def test_writes_meet_the_stricter_limit_with_retry_after(client, target, detail):
    """A short, bounded, concurrent burst of writes (DELETEs of a missing document)."""
    deadline = time.monotonic() + WRITE_BURST_MAX_SECONDS
    missing = f"/documents/{uuid.uuid4()}"
    limited_seen = threading.Event()
    limits = httpx.Limits(max_connections=WRITE_BURST_CONCURRENCY)
    with httpx.Client(
        base_url=target.url, timeout=5, limits=limits, verify=tls_context(target)
    ) as burst:

        def one(_: int) -> httpx.Response | None:
            if limited_seen.is_set() or time.monotonic() > deadline:
                return None
            answer = burst.delete(missing)
            if answer.status_code == 429:
                limited_seen.set()
            return answer

        with ThreadPoolExecutor(WRITE_BURST_CONCURRENCY) as pool:
            answers = [a for a in pool.map(one, range(WRITE_BURST_MAX_REQUESTS)) if a]
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited, f"{len(answers)} writes in a burst, none answered 429: no write limit"
    unexpected = {a.status_code for a in answers} - {404, 422, 429}
    assert not unexpected, f"writes answered {sorted(unexpected)}"
    retry_after = limited[0].headers.get("retry-after", "")
    assert retry_after.isdigit(), f"429 without a Retry-After header (got {retry_after!r})"
    general = client.get("/health")
    assert general.status_code == 200, "a read was refused after the writes were limited"
    time.sleep(int(retry_after) + 1)
    admitted = len(answers) - len(limited)
    detail(f"429 after {admitted} writes, Retry-After: {retry_after}; reads still served")
