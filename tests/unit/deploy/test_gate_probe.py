"""The gate's probe script, run by a real Python against a real HTTP server: a failing
/ready is reported with the failing dependency and its reason from /ready's JSON body."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shipyard.deploy.plan import GATE_PROBE

READY_BODY = {
    "status": "unavailable",
    "checks": {
        "database": {
            "status": "error",
            "error": "OperationalError: password authentication failed for user docstore",
        },
        "object_store": {"status": "ok", "latency_ms": 2.0},
    },
}


@pytest.fixture
def server() -> Iterator[dict[str, tuple[int, bytes]]]:
    answers: dict[str, tuple[int, bytes]] = {"/health": (200, b'{"status": "ok"}')}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answers.get(self.path, (404, b""))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    answers["base"] = (httpd.server_address[1], b"")
    yield answers
    httpd.shutdown()
    httpd.server_close()


def _probe(answers: dict[str, tuple[int, bytes]]) -> subprocess.CompletedProcess[str]:
    base = f"http://127.0.0.1:{answers['base'][0]}"
    return subprocess.run(
        [sys.executable, "-c", GATE_PROBE, base], capture_output=True, text=True, timeout=30
    )


def test_a_failing_ready_names_the_dependency_and_its_reason(server):
    server["/ready"] = (503, json.dumps(READY_BODY).encode())
    result = _probe(server)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "/ready: HTTP 503 (database: OperationalError: password authentication failed for"
        " user docstore)"
    )


def test_a_body_that_is_not_the_apps_still_gives_the_status(server):
    server["/ready"] = (502, b"<html>bad gateway</html>")
    assert _probe(server).stderr.strip() == "/ready: HTTP 502"


def test_ready_and_healthy_passes(server):
    server["/ready"] = (200, b'{"status": "ready", "checks": {}}')
    result = _probe(server)
    assert (result.returncode, result.stderr) == (0, "")
