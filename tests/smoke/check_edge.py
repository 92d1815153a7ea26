"""What the nginx edge promises: headers, body limit, no /metrics, a rate limit; TLS on https."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from tests.smoke.conftest import expect_status, tls_context

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
BODY_LIMIT_BYTES = 10 * 1024 * 1024
# The burst is bounded: at most this many requests, within this many seconds.
BURST_MAX_REQUESTS = 400
BURST_MAX_SECONDS = 10.0
BURST_CONCURRENCY = 16
CERTIFICATE_MIN_DAYS = 14


def test_security_headers(client, detail):
    response = client.get("/health")
    missing = [
        f"{name} (got {response.headers.get(name)!r})"
        for name, wanted in SECURITY_HEADERS.items()
        if wanted not in response.headers.get(name, "")
    ]
    assert not missing, f"security headers missing or wrong: {', '.join(missing)}"
    assert "nginx/" not in response.headers.get("server", ""), "the server header shows a version"
    detail(f"{len(SECURITY_HEADERS)} headers present, no server version")


def test_oversized_body_is_refused(client, detail):
    try:
        response = client.post(
            "/documents",
            params={"title": "smoke-too-big"},
            content=b"\0" * (BODY_LIMIT_BYTES + 1024),
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
    except httpx.WriteError as exc:
        raise AssertionError(f"the connection broke before a 413 arrived: {exc}") from None
    expect_status(response, 413)
    detail("413 for a body over 10 MiB")


def test_metrics_are_not_public(client, detail):
    response = client.get("/metrics")
    assert response.status_code in (403, 404), (
        f"/metrics answered {response.status_code} through the public URL"
    )
    assert "# TYPE" not in response.text, "/metrics serves Prometheus data through the public URL"
    detail(f"{response.status_code} through the public URL")


@pytest.mark.https
def test_http_redirects_to_https(target, detail):
    parts = urlsplit(target.url)
    port = os.environ.get("SHIPYARD_SMOKE_HTTP_PORT", "")
    plain = f"http://{parts.hostname}" + (f":{port}" if port else "")
    response = httpx.get(f"{plain}/health?smoke=1", follow_redirects=False, timeout=10)
    assert response.status_code in (301, 308), f"http:// answered {response.status_code}"
    location = response.headers.get("location", "")
    wanted = f"{target.url}/health?smoke=1"
    assert location == wanted, f"redirect goes to {location!r}, expected {wanted!r}"
    detail(f"{response.status_code} to {location} (path and query kept)")


@pytest.mark.https
def test_hsts_is_sent(client, detail):
    response = client.get("/health")
    value = response.headers.get("strict-transport-security", "")
    max_age = dict(
        part.strip().partition("=")[::2] for part in value.split(";") if part.strip()
    ).get("max-age", "0")
    assert max_age.isdigit() and int(max_age) >= 63072000, f"HSTS is {value!r} (two years wanted)"
    detail(value)


@pytest.mark.https
def test_certificate_is_valid(target, detail):
    parts = urlsplit(target.url)
    context = tls_context(target)

    with (
        socket.create_connection((parts.hostname, parts.port or 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        certificate = tls.getpeercert()
        version = tls.version()
    issuer = dict(pair for rdn in certificate["issuer"] for pair in rdn).get("commonName", "?")
    assert version in ("TLSv1.2", "TLSv1.3"), f"negotiated {version}"
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(certificate["notAfter"]), UTC)
    days = (expires - datetime.now(UTC)).days
    assert days >= CERTIFICATE_MIN_DAYS, f"the certificate expires in {days} days ({expires:%F})"
    detail(f"valid for {parts.hostname}, chain to {issuer}, {days} days left, {version}")


@pytest.mark.burst
def test_rate_limit_answers_429_with_retry_after(target, detail):
    """A short, bounded burst from one client must meet nginx's per-client limit."""
    deadline = time.monotonic() + BURST_MAX_SECONDS
    limited_seen = threading.Event()
    limits = httpx.Limits(max_connections=BURST_CONCURRENCY)
    context = tls_context(target)
    with httpx.Client(base_url=target.url, timeout=5, limits=limits, verify=context) as burst:

        def one(_: int) -> httpx.Response | None:
            if limited_seen.is_set() or time.monotonic() > deadline:
                return None
            answer = burst.get("/health")
            if answer.status_code == 429:
                limited_seen.set()
            return answer

        with ThreadPoolExecutor(BURST_CONCURRENCY) as pool:
            answers = [answer for answer in pool.map(one, range(BURST_MAX_REQUESTS)) if answer]
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited, f"{len(answers)} requests in a burst, none answered 429: no rate limit"
    retry_after = limited[0].headers.get("retry-after", "")
    assert retry_after.isdigit(), f"429 without a Retry-After header (got {retry_after!r})"
    # Let the bucket refill so whatever runs next is not throttled by this check.
    time.sleep(int(retry_after) + 1)
    detail(f"429 with Retry-After: {retry_after} after {len(answers) - len(limited)} requests")
