"""The local stack on the real engine: healthy, every endpoint, readiness, shutdown, users."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time

import httpx

from tests.integration.stack.conftest import Stack, docker_inspect
from tests.integration.support import run_inv

SERVICES = {"app", "db", "nginx", "objectstore"}


def test_every_service_is_running_and_healthy(stack: Stack):
    result = run_inv("ps", "--json", env=stack.isolated.overrides())
    assert result.returncode == 0, result.stderr
    services = {row["service"]: row for row in json.loads(result.stdout)}
    assert set(services) == SERVICES
    for name, row in services.items():
        assert (row["state"], row["health"]) == ("running", "healthy"), name


def test_setup_reports_passing_smoke_checks(stack: Stack):
    for check in ("health", "ready", "version", "documents round trip"):
        assert f"smoke: {check}:" in stack.setup_output
    assert stack.url in stack.setup_output


def test_health_and_ready(stack: Stack):
    health = httpx.get(f"{stack.url}/health", timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    ready = httpx.get(f"{stack.url}/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.elapsed.total_seconds() < 1.0


def test_version_is_the_build_stamp(stack: Stack):
    version = httpx.get(f"{stack.url}/version", timeout=5).json()
    info = stack.lib.build_info
    assert version["version"] == info.version
    assert version["git_sha"] == info.git_sha
    assert version["build_time"] == info.build_time


def test_security_headers_and_request_id(stack: Stack):
    response = httpx.get(f"{stack.url}/health", headers={"X-Request-ID": "it-test-1"}, timeout=5)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Request-ID"] == "it-test-1"
    assert "nginx/" not in response.headers.get("server", "")


def test_documents_create_list_get_content_delete(stack: Stack):
    content = os.urandom(300_000)
    created = httpx.post(
        f"{stack.url}/documents",
        params={"title": "integration report"},
        content=content,
        headers={"Content-Type": "application/pdf"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    document = created.json()
    assert document["title"] == "integration report"
    assert document["size_bytes"] == len(content)
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    listed = httpx.get(f"{stack.url}/documents", params={"limit": 100}, timeout=5)
    assert document["id"] in {row["id"] for row in listed.json()["items"]}
    body = httpx.get(f"{stack.url}/documents/{document['id']}/content", timeout=10)
    assert body.content == content
    assert body.headers["content-type"] == "application/pdf"
    assert httpx.delete(f"{stack.url}/documents/{document['id']}", timeout=5).status_code == 204
    gone = httpx.get(f"{stack.url}/documents/{document['id']}", timeout=5)
    assert gone.status_code == 404


def test_validation_errors_are_clear(stack: Stack):
    no_title = httpx.post(f"{stack.url}/documents", content=b"x", timeout=5)
    assert no_title.status_code == 422
    assert "title" in no_title.text
    bad_limit = httpx.get(f"{stack.url}/documents", params={"limit": 0}, timeout=5)
    assert bad_limit.status_code == 422
    bad_id = httpx.get(f"{stack.url}/documents/not-a-uuid", timeout=5)
    assert bad_id.status_code in (404, 422)


def test_oversized_body_is_refused_by_nginx(stack: Stack):
    response = httpx.post(
        f"{stack.url}/documents",
        params={"title": "too big"},
        content=b"\0" * (11 * 1024 * 1024),
        timeout=30,
    )
    assert response.status_code == 413


APP_LIMIT_CLIENT = """
import http.client
conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=30)
def chunks():
    for _ in range(11):
        yield b"\\0" * (1024 * 1024)
conn.request("POST", "/documents?title=chunked", body=chunks(), encode_chunked=True,
             headers={"Content-Type": "application/octet-stream"})
print(conn.getresponse().status)
"""


def test_app_enforces_its_body_limit_on_chunked_streams(stack: Stack):
    result = stack.exec_app("python", "-c", APP_LIMIT_CLIENT)
    assert result.ok, result.stderr
    assert result.stdout.strip() == "413"


def test_metrics_are_served_inside_but_not_through_the_public_url(stack: Stack):
    assert httpx.get(f"{stack.url}/metrics", timeout=5).status_code == 404
    httpx.get(f"{stack.url}/documents", timeout=5)
    scrape = stack.exec_app(
        "python",
        "-c",
        "import urllib.request;"
        "print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())",
    )
    assert scrape.ok, scrape.stderr
    assert 'route="/documents"' in scrape.stdout
    assert "http_request_duration_seconds_bucket" in scrape.stdout
    assert "docstore_db_pool_checked_out" in scrape.stdout


def test_containers_run_as_non_root_users(stack: Stack):
    assert stack.exec_app("id", "-u").stdout.strip() == "10001"
    users = {
        service: docker_inspect(stack.container_id(service), "{{.Config.User}}")
        for service in ("app", "db", "nginx")
    }
    assert users == {"app": "10001:10001", "db": "999:999", "nginx": "101:101"}
    assert docker_inspect(stack.container_id("app"), "{{.HostConfig.ReadonlyRootfs}}") == "true"


def test_database_is_not_on_nginx_network(stack: Stack):
    networks = docker_inspect(stack.container_id("db"), "{{json .NetworkSettings.Networks}}")
    nginx_networks = docker_inspect(
        stack.container_id("nginx"), "{{json .NetworkSettings.Networks}}"
    )
    assert not set(json.loads(networks)) & set(json.loads(nginx_networks))
    reach = subprocess.run(
        [*stack.lib.project.exec("nginx", ["curl", "-sS", "-m", "3", "http://db:5432"])],
        env={**os.environ, **stack.lib.variables},
        capture_output=True,
        text=True,
        check=False,
    )
    assert reach.returncode != 0
    assert "resolve" in reach.stderr.lower()


def test_ready_turns_503_without_postgres_and_200_when_it_returns(stack: Stack):
    stack.compose(stack.lib.project.stop(["db"])).raise_for_status("stopping db")
    try:
        response = httpx.get(f"{stack.url}/ready", timeout=10)
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["database"]["status"] == "error"
        assert body["checks"]["database"]["error"]
        assert body["checks"]["object_store"]["status"] == "ok"
        assert response.elapsed.total_seconds() < 5
        assert httpx.get(f"{stack.url}/health", timeout=5).status_code == 200
    finally:
        stack.compose(stack.lib.project.start(["db"])).raise_for_status("starting db")
    stack.wait_ready()


SLOW_UPLOAD_CLIENT = """
import socket, time
body = b"y" * 40_000
sock = socket.create_connection(("127.0.0.1", 8000))
sock.sendall(b"POST /documents?title=in-flight HTTP/1.1\\r\\nHost: app\\r\\n"
             b"Content-Type: application/octet-stream\\r\\nConnection: close\\r\\n"
             b"Content-Length: %d\\r\\n\\r\\n" % len(body))
refused = None
for i in range(40):
    sock.sendall(body[i * 1000:(i + 1) * 1000])
    time.sleep(0.1)
    if i == 25:
        try:
            socket.create_connection(("127.0.0.1", 8000), timeout=1).close()
            refused = False
        except OSError:
            refused = True
answer = b""
while chunk := sock.recv(65536):
    answer += chunk
print(answer.split(b"\\r\\n", 1)[0].decode(), "| new connection refused:", refused, flush=True)
"""


def test_sigterm_lets_the_in_flight_request_finish_and_refuses_new_ones(stack: Stack):
    container = stack.container_id("app")
    client = subprocess.Popen(
        [*stack.lib.project.exec("app", ["python", "-c", SLOW_UPLOAD_CLIENT])],
        env={**os.environ, **stack.lib.variables},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    stopper = threading.Thread(
        target=subprocess.run,
        args=(["docker", "stop", "--time", "30", container],),
        kwargs={"capture_output": True, "check": False},
    )
    started = time.monotonic()
    stopper.start()
    try:
        out, err = client.communicate(timeout=60)
        stopper.join(timeout=60)
        assert "201" in out, f"in-flight request did not finish: {out!r} {err!r}"
        assert "new connection refused: True" in out
        assert time.monotonic() - started < 25, "shutdown waited for the kill timeout"
    finally:
        stack.lib.start()
    stack.wait_ready()


def test_second_setup_changes_nothing(stack: Stack):
    env_file = stack.lib.project.env_file
    before_env = (env_file.read_bytes(), env_file.stat().st_mtime_ns, env_file.stat().st_mode)
    before = {
        service: docker_inspect(stack.container_id(service), "{{.Id}} {{.State.StartedAt}}")
        for service in SERVICES
    }
    image = stack.lib.image_id()
    result = run_inv("setup", env=stack.isolated.overrides())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept the existing .env" in result.stderr
    after = {
        service: docker_inspect(stack.container_id(service), "{{.Id}} {{.State.StartedAt}}")
        for service in SERVICES
    }
    assert after == before
    assert stack.lib.image_id() == image
    assert (env_file.read_bytes(), env_file.stat().st_mtime_ns, env_file.stat().st_mode) == (
        before_env
    )
    assert oct(before_env[2] & 0o777) == "0o600"


def test_down_volumes_without_yes_and_without_a_terminal_is_refused(stack: Stack):
    before = {service: stack.container_id(service) for service in SERVICES}
    result = run_inv("down", "--volumes", env=stack.isolated.overrides())
    assert result.returncode == 3, result.stdout + result.stderr
    assert "--volumes deletes all data: not confirmed (no terminal to ask on)" in result.stderr
    assert "--yes" in result.stderr
    assert {service: stack.container_id(service) for service in SERVICES} == before
