"""The service works: alive, ready with every dependency, the right release, a round trip."""

from __future__ import annotations

import hashlib
import os
import uuid

from tests.smoke.conftest import expect_status, ms


def test_health(client, detail):
    response = client.get("/health")
    expect_status(response, 200)
    assert response.json().get("status") == "ok", f"/health body: {response.text[:200]}"
    detail(f"200 in {ms(response)}")


def test_ready(client, detail):
    response = client.get("/ready")
    checks = (
        response.json().get("checks", {})
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    summary = ", ".join(
        f"{name} {result.get('status')}"
        + (f" ({result['error']})" if result.get("error") else "")
        + (f" {result['latency_ms']:.0f} ms" if "latency_ms" in result else "")
        for name, result in sorted(checks.items())
    )
    assert response.status_code == 200, (
        f"/ready answered {response.status_code}: {summary or response.text[:200]}"
    )
    assert checks, "/ready named no dependency"
    detail(f"200 in {ms(response)}: {summary}")


def test_version(client, target, detail):
    response = client.get("/version")
    expect_status(response, 200)
    seen = response.json()
    running = f"{seen.get('version')} ({str(seen.get('git_sha'))[:12]})"
    if target.version is not None:
        assert seen.get("version") == target.version, (
            f"version {seen.get('version')!r} is running, expected {target.version!r}"
        )
    if target.git_sha is not None:
        assert seen.get("git_sha") == target.git_sha, (
            f"git sha {seen.get('git_sha')!r} is running, expected {target.git_sha!r}"
        )
    expected = "" if target.version or target.git_sha else " (no expected release given)"
    detail(running + expected)


def test_documents_round_trip(client, detail):
    content = os.urandom(2048)
    created = client.post(
        "/documents",
        params={"title": f"smoke-{uuid.uuid4().hex[:8]}"},
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )
    expect_status(created, 201)
    path = f"/documents/{created.json()['id']}"
    try:
        fetched = client.get(path)
        expect_status(fetched, 200)
        assert fetched.json().get("sha256") == hashlib.sha256(content).hexdigest(), (
            "the stored sha256 differs from the uploaded content"
        )
        body = client.get(f"{path}/content")
        expect_status(body, 200)
        assert body.content == content, "the content read back differs from what was uploaded"
    finally:
        deleted = client.delete(path)
    expect_status(deleted, 204)
    expect_status(client.get(path), 404)
    detail("create, read, delete: ok")
