"""The assembled application, driven in-process. Only paths that touch neither PostgreSQL nor
the object store are exercised here; the integration tests cover the rest."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client import REGISTRY

from docstore import metrics
from docstore.application import create_app
from docstore.middleware.access_log import UNLOGGED_PATHS, route_template


@pytest.fixture
def app(make_settings):
    application = create_app(
        make_settings(max_upload_bytes=16, app_version="1.4.2", git_sha="cafe123")
    )

    async def boom():
        raise RuntimeError("unexpected failure with db-password-123456")

    application.add_api_route("/boom", boom)
    return application


def _count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "http_requests_total", {"method": method, "route": route, "status": status}
    )
    return value or 0.0


def test_route_template_comes_from_the_matched_route():
    class Route:
        path = "/documents/{document_id}"

    assert route_template({"route": Route()}) == "/documents/{document_id}"
    assert route_template({}) == "unmatched"
    assert route_template({"route": object()}) == "unmatched"


@pytest.mark.parametrize(("method", "label"), [("get", "GET"), ("DELETE", "DELETE")])
def test_known_methods_keep_their_name(method, label):
    assert metrics.method_label(method) == label


def test_unknown_methods_share_one_label():
    assert metrics.method_label("BREW") == "OTHER"


def test_health_touches_nothing_and_answers_ok(asgi, app):
    result, _ = asgi(app, "GET", "/health")
    assert (result.status, result.json()) == (200, {"status": "ok"})
    assert re.fullmatch(r"[0-9a-f]{32}", result.headers["x-request-id"])


def test_version_reports_the_build(asgi, app):
    result, _ = asgi(app, "GET", "/version")
    assert result.json() == {"version": "1.4.2", "git_sha": "cafe123", "build_time": "unknown"}


def test_metrics_are_labelled_by_route_template(asgi, app):
    doc = "/documents/{document_id}"
    before = _count("GET", doc, "422"), _count("GET", "unmatched", "404")
    asgi(app, "GET", "/documents/not-a-uuid")
    asgi(app, "GET", "/documents/also-not-a-uuid")
    asgi(app, "GET", "/no/such/path")
    assert _count("GET", doc, "422") == before[0] + 2
    assert _count("GET", "unmatched", "404") == before[1] + 1
    result, _ = asgi(app, "GET", "/metrics")
    text = result.body.decode()
    assert result.headers["content-type"].startswith("text/plain")
    assert 'http_requests_total{method="GET",route="/documents/{document_id}",status="422"}' in (
        text
    )
    assert "http_request_duration_seconds_bucket{" in text
    assert "docstore_db_pool_size 5.0" in text
    assert "docstore_db_pool_checked_out 0.0" in text
    assert 'docstore_build_info{git_sha="cafe123",version="1.4.2"} 1.0' in text
    assert "/documents/not-a-uuid" not in text


def test_validation_errors_are_clear_422s(asgi, app):
    result, _ = asgi(app, "POST", "/documents", query="title=")
    assert result.status == 422
    body = result.json()
    assert body["detail"].startswith("invalid request: query.title:")
    assert body["errors"][0]["field"] == "query.title"
    result, _ = asgi(app, "GET", "/documents", query="limit=101")
    assert result.status == 422
    assert "query.limit" in result.json()["detail"]
    result, _ = asgi(app, "POST", "/documents", query="title=%20%20")
    assert result.json()["errors"] == [{"field": "query.title", "message": "must not be blank"}]
    result, _ = asgi(
        app, "POST", "/documents", query="title=ok", headers={"Content-Type": "no slash"}
    )
    assert result.json()["errors"][0]["field"] == "header.content-type"


def test_oversized_upload_is_413_and_labelled_with_its_route(asgi, app):
    before = _count("POST", "/documents", "413")
    result, _ = asgi(app, "POST", "/documents", query="title=big", chunks=[b"x" * 10, b"y" * 10])
    assert result.status == 413
    assert "16 bytes" in result.json()["detail"]
    assert _count("POST", "/documents", "413") == before + 1


def test_unknown_route_says_so(asgi, app):
    result, _ = asgi(app, "DELETE", "/nowhere")
    assert (result.status, result.json()) == (404, {"detail": "no endpoint at DELETE /nowhere"})


def test_unhandled_error_is_a_json_500_with_the_request_id_and_a_masked_log(asgi, app, caplog):
    with caplog.at_level(logging.ERROR, logger="docstore.errors"):
        result, _ = asgi(app, "GET", "/boom", headers={"X-Request-ID": "req-boom-1"})
    assert result.status == 500
    assert result.json() == {"detail": "internal server error", "request_id": "req-boom-1"}
    assert result.headers["x-request-id"] == "req-boom-1"
    assert "db-password-123456" not in result.body.decode()
    record = next(r for r in caplog.records if r.name == "docstore.errors")
    assert record.exc_info is not None


def test_one_access_line_per_request_except_probes(asgi, app, caplog):
    with caplog.at_level(logging.INFO, logger="docstore.access"):
        for path in ("/health", "/ready", "/metrics", "/version", "/documents/x"):
            if path != "/ready":  # /ready would try the real dependencies
                asgi(app, "GET", path, headers={"X-Request-ID": f"rid{len(path)}"})
    lines = [r for r in caplog.records if r.name == "docstore.access"]
    assert [r.path for r in lines] == ["/version", "/documents/x"]
    first = lines[0]
    assert (first.method, first.route, first.status) == ("GET", "/version", 200)
    assert isinstance(first.duration_ms, float)
    assert first.getMessage() == "GET /version 200"
    assert {"/health", "/ready", "/metrics"} == UNLOGGED_PATHS
    json.dumps(first.__dict__, default=str)  # serialisable for the JSON formatter
