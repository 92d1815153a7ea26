from __future__ import annotations

import asyncio
import time

import pytest
from minio.error import S3Error
from sqlalchemy.exc import OperationalError
from urllib3.exceptions import MaxRetryError, NewConnectionError

from docstore.api.documents import DEFAULT_CONTENT_TYPE, normalize_content_type
from docstore.api.health import readiness_body, run_check
from docstore.errors import describe_validation_errors, short_error, validation_error_body
from docstore.logging_setup import MASK, SecretMasker
from docstore.models import object_key_for


def test_short_error_keeps_type_and_first_line():
    exc = RuntimeError("first line\n  second line with details")
    assert short_error(exc, SecretMasker([])) == "RuntimeError: first line"


def test_short_error_unwraps_sqlalchemy_to_the_driver_error():
    class FakeDriverError(Exception):
        pass

    wrapped = OperationalError("SELECT 1", {}, FakeDriverError("connection refused\nhint"))
    assert short_error(wrapped, SecretMasker([])) == "FakeDriverError: connection refused"


def test_short_error_unwraps_urllib3_retries_to_the_reason():
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    exc = MaxRetryError(None, "/bucket", reason)
    text = short_error(exc, SecretMasker([]))
    assert text.startswith("NewConnectionError:")
    assert "refused" in text


def test_short_error_names_the_s3_code():
    exc = S3Error(None, "NoSuchBucket", "The bucket does not exist", "docs", "r1", "h1")
    assert short_error(exc, SecretMasker([])) == "S3Error: NoSuchBucket: The bucket does not exist"


def test_short_error_masks_and_truncates():
    exc = ValueError("password hunter22 rejected " + "x" * 500)
    text = short_error(exc, SecretMasker(["hunter22"]))
    assert "hunter22" not in text and MASK in text
    assert len(text) == 200 and text.endswith("...")


def test_short_error_uses_the_environment_secrets_by_default(monkeypatch):
    monkeypatch.setenv("S3_SECRET_KEY", "topsecretvalue")
    assert short_error(RuntimeError("bad key topsecretvalue")) == f"RuntimeError: bad key {MASK}"


def test_validation_errors_drop_the_input_and_name_the_field():
    errors = [
        {"loc": ("query", "title"), "msg": "String too long", "input": "x" * 1000},
        {"loc": (), "msg": "broken"},
    ]
    assert describe_validation_errors(errors) == [
        {"field": "query.title", "message": "String too long"},
        {"field": "request", "message": "broken"},
    ]
    body = validation_error_body(errors)
    assert body["detail"] == "invalid request: query.title: String too long; request: broken"
    assert "xxx" not in str(body)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT_CONTENT_TYPE),
        ("", DEFAULT_CONTENT_TYPE),
        ("  ", DEFAULT_CONTENT_TYPE),
        ("text/plain", "text/plain"),
        (" application/pdf ", "application/pdf"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("application/vnd.api+json", "application/vnd.api+json"),
    ],
)
def test_content_type_is_kept_or_defaulted(raw, expected):
    assert normalize_content_type(raw) == expected


@pytest.mark.parametrize(
    "raw", ["plain", "text/", "/plain", "text/plain\r\nX-Evil: 1", "a/" + "b" * 300, "tëxt/plain"]
)
def test_content_type_that_is_not_a_media_type_is_refused(raw):
    with pytest.raises(ValueError):
        normalize_content_type(raw)


def test_object_key_convention():
    import uuid

    doc_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert object_key_for(doc_id) == "documents/12345678-1234-5678-1234-567812345678"


def test_readiness_is_200_only_when_every_check_is_ok():
    ok = {"status": "ok", "latency_ms": 1.0}
    bad = {"status": "error", "error": "down"}
    assert readiness_body({"database": ok, "object_store": ok})[0] == 200
    status, body = readiness_body({"database": ok, "object_store": bad})
    assert status == 503
    assert body == {"status": "unavailable", "checks": {"database": ok, "object_store": bad}}


def test_run_check_reports_success_failure_and_timeout():
    def fine():
        return None

    def broken():
        raise ConnectionRefusedError("connection refused")

    def stuck():
        time.sleep(1.0)

    async def main():
        return await asyncio.gather(
            run_check(fine), run_check(broken), run_check(stuck, timeout=0.1)
        )

    start = time.perf_counter()
    ok, failed, timed_out = asyncio.run(main())
    assert ok["status"] == "ok" and ok["latency_ms"] >= 0
    assert failed == {"status": "error", "error": "ConnectionRefusedError: connection refused"}
    assert timed_out == {"status": "error", "error": "no answer within 0.1 s"}
    # The stuck check was abandoned at its timeout, not waited for.
    assert time.perf_counter() - start < 0.9
