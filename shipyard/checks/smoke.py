"""Smoke checks through the public URL: is the stack up, ready, the right version, working.

`inv setup` runs these against the local stack; the deploy gate runs the same ones.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class CheckResult:
    """One smoke check: its name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ExpectedVersion:
    """The release that should be answering."""

    version: str
    git_sha: str | None = None


def _check(name: str, probe: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, probe())
    except AssertionError as exc:
        return CheckResult(name, False, str(exc))
    except httpx.HTTPError as exc:
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")


def _expect_status(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        body = response.text.strip().replace("\n", " ")[:200]
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, expected {status}: {body}"
        )


def run_smoke_checks(
    base_url: str, expected: ExpectedVersion | None = None, *, timeout: float = 10.0
) -> list[CheckResult]:
    """Run every smoke check against `base_url`; never raises for a failing check."""
    with httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False) as client:

        def health() -> str:
            response = client.get("/health")
            _expect_status(response, 200)
            return f"200 in {response.elapsed.total_seconds() * 1000:.0f} ms"

        def ready() -> str:
            response = client.get("/ready")
            _expect_status(response, 200)
            return f"200 in {response.elapsed.total_seconds() * 1000:.0f} ms"

        def version() -> str:
            response = client.get("/version")
            _expect_status(response, 200)
            seen = response.json()
            if expected is not None:
                if seen.get("version") != expected.version:
                    raise AssertionError(
                        f"version {seen.get('version')!r} is running, expected {expected.version!r}"
                    )
                if expected.git_sha and seen.get("git_sha") != expected.git_sha:
                    raise AssertionError(
                        f"git sha {seen.get('git_sha')!r} is running, expected {expected.git_sha!r}"
                    )
            return f"{seen.get('version')} ({str(seen.get('git_sha'))[:12]})"

        def round_trip() -> str:
            content = os.urandom(2048)
            title = f"smoke-{uuid.uuid4().hex[:8]}"
            created = client.post(
                "/documents",
                params={"title": title},
                content=content,
                headers={"Content-Type": "application/octet-stream"},
            )
            _expect_status(created, 201)
            document = created.json()
            path = f"/documents/{document['id']}"
            try:
                fetched = client.get(path)
                _expect_status(fetched, 200)
                if fetched.json().get("sha256") != hashlib.sha256(content).hexdigest():
                    raise AssertionError("the stored sha256 differs from the uploaded content")
                body = client.get(f"{path}/content")
                _expect_status(body, 200)
                if body.content != content:
                    raise AssertionError("the content read back differs from what was uploaded")
            finally:
                deleted = client.delete(path)
            _expect_status(deleted, 204)
            _expect_status(client.get(path), 404)
            return "create, read, delete: ok"

        return [
            _check("health", health),
            _check("ready", ready),
            _check("version", version),
            _check("documents round trip", round_trip),
        ]
