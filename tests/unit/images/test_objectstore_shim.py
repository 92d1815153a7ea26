"""The objectstore stand-in's `minio`/`mc` shims: signature checks, health, arguments.

The shim is the file baked into shipyard-local/objectstore; requests are signed by
botocore (V4 and V2, header and presigned) and handed to it as WSGI environs.
"""

from __future__ import annotations

import http.server
import importlib.util
import threading
import urllib.parse

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shipyard.images.catalog import IMAGES_DIR

SPEC = importlib.util.spec_from_file_location(
    "objectstore_shim", IMAGES_DIR / "objectstore" / "objectstore.py"
)
shim = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(shim)

USER, PASSWORD = "shipyard", "correct-horse-battery"
ENDPOINT = "http://objectstore:9000"


def environ_of(request: AWSRequest) -> dict:
    """The WSGI environ a server would build for this signed request."""
    prepared = request.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    environ = {
        "REQUEST_METHOD": prepared.method,
        "PATH_INFO": urllib.parse.unquote(parts.path).encode().decode("latin-1"),
        "QUERY_STRING": parts.query,
        "RAW_URI": parts.path + (f"?{parts.query}" if parts.query else ""),
        "HTTP_HOST": parts.netloc,
    }
    for name, value in prepared.headers.items():
        value = value.decode() if isinstance(value, bytes) else value
        key = name.upper().replace("-", "_")
        if key in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    return environ


def signed(method, path, *, auth, secret=PASSWORD, key=USER, body=b"", headers=None, **kw):
    request = AWSRequest(method=method, url=ENDPOINT + path, data=body, headers=headers or {})
    credentials = Credentials(key, secret)
    if auth is S3SigV4Auth:
        signer = S3SigV4Auth(credentials, "s3", "us-east-1")
    elif auth is S3SigV4QueryAuth:
        signer = S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=300)
    elif auth is HmacV1QueryAuth:
        signer = HmacV1QueryAuth(credentials, expires=300)
    else:
        signer = HmacV1Auth(credentials)
    if "auth_path" in kw:
        request.auth_path = kw["auth_path"]
    signer.add_auth(request)
    return environ_of(request)


KEY_PATH = "/documents/dir/a%20b%2Bc%3D%C3%BC.txt"


@pytest.mark.parametrize("auth", [S3SigV4Auth, S3SigV4QueryAuth, HmacV1Auth, HmacV1QueryAuth])
def test_requests_signed_with_the_root_credentials_pass(auth):
    if auth in (S3SigV4QueryAuth, HmacV1QueryAuth):  # presigned URLs: a plain GET
        environ = signed("GET", KEY_PATH, auth=auth)
    else:
        environ = signed(
            "PUT", KEY_PATH, auth=auth, body=b"hello", headers={"Content-Type": "text/plain"}
        )
    shim.verify_request(environ, USER, PASSWORD)


def test_bucket_level_v2_requests_signed_with_a_trailing_slash_pass():
    environ = signed("GET", "/documents?uploads", auth=HmacV1Auth, auth_path="/documents/")
    shim.verify_request(environ, USER, PASSWORD)


def test_query_parameters_are_part_of_the_v4_signature():
    environ = signed("GET", "/documents?list-type=2&prefix=a%20b&max-keys=5", auth=S3SigV4Auth)
    shim.verify_request(environ, USER, PASSWORD)
    environ["QUERY_STRING"] = environ["QUERY_STRING"].replace("max-keys=5", "max-keys=6")
    with pytest.raises(shim.AuthError) as caught:
        shim.verify_request(environ, USER, PASSWORD)
    assert caught.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("auth", [S3SigV4Auth, S3SigV4QueryAuth, HmacV1Auth, HmacV1QueryAuth])
def test_a_wrong_secret_is_refused(auth):
    environ = signed("GET", KEY_PATH, auth=auth, secret="not-the-password")
    with pytest.raises(shim.AuthError) as caught:
        shim.verify_request(environ, USER, PASSWORD)
    assert caught.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("auth", [S3SigV4Auth, HmacV1QueryAuth])
def test_an_unknown_access_key_is_refused(auth):
    environ = signed("GET", KEY_PATH, auth=auth, key="someone-else")
    with pytest.raises(shim.AuthError) as caught:
        shim.verify_request(environ, USER, PASSWORD)
    assert caught.value.code == "InvalidAccessKeyId"


def test_anonymous_requests_are_refused():
    with pytest.raises(shim.AuthError) as caught:
        shim.verify_request({"REQUEST_METHOD": "GET", "PATH_INFO": "/documents"}, USER, PASSWORD)
    assert caught.value.code == "AccessDenied"


def call(app, environ):
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    body = b"".join(app(environ, start_response))
    return seen["status"], body


def backend(environ, start_response):
    start_response("200 OK", [])
    return [b"moto"]


def test_gate_answers_health_without_credentials_and_refuses_other_anonymous_calls():
    app = shim.gate(backend, (USER, PASSWORD))
    for path in ("/minio/health/live", "/minio/health/ready", "/minio/health/cluster/"):
        assert call(app, {"REQUEST_METHOD": "GET", "PATH_INFO": path}) == ("200 OK", b"")
    status, body = call(app, {"REQUEST_METHOD": "GET", "PATH_INFO": "/documents"})
    assert status == "403 Forbidden"
    assert b"<Code>AccessDenied</Code>" in body
    assert call(app, {"REQUEST_METHOD": "OPTIONS", "PATH_INFO": "/documents"})[1] == b"moto"
    assert call(app, signed("GET", "/documents", auth=S3SigV4Auth))[1] == b"moto"


def test_gate_without_credentials_lets_everything_through():
    app = shim.gate(backend, None)
    assert call(app, {"REQUEST_METHOD": "GET", "PATH_INFO": "/documents"})[1] == b"moto"


def test_root_credentials_like_minio(tmp_path):
    assert shim.root_credentials({}) == ("minioadmin", "minioadmin")
    secret = tmp_path / "password"
    secret.write_text("from-a-file-123\n")
    assert shim.root_credentials(
        {"MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD_FILE": str(secret)}
    ) == ("admin", "from-a-file-123")
    assert shim.root_credentials(
        {"MINIO_ACCESS_KEY": "legacy", "MINIO_SECRET_KEY": "legacy-secret"}
    ) == ("legacy", "legacy-secret")
    with pytest.raises(SystemExit, match="at least 8"):
        shim.root_credentials({"MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD": "short"})


def test_addresses_and_aliases():
    assert shim._split_address(":9000") == ("0.0.0.0", 9000)  # noqa: S104 - in the container
    assert shim._split_address("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert shim.alias_url("local", {}) == "http://127.0.0.1:9000"
    assert shim.alias_url("local", {"MINIO_ADDRESS": ":9100"}) == "http://127.0.0.1:9100"
    assert (
        shim.alias_url("backup", {"MC_HOST_backup": "https://key:secret@s3.example:443"})
        == "https://s3.example:443"
    )
    with pytest.raises(SystemExit, match="MC_HOST_nowhere"):
        shim.alias_url("nowhere", {})


def test_only_the_commands_the_stack_uses_are_implemented(capsys):
    assert shim.minio_main(["--version"]) == 0
    assert shim.minio_main(["gateway", "s3"]) == 2
    assert shim.mc_main(["--version"]) == 0
    assert shim.mc_main(["admin", "info", "local"]) == 2
    assert "only `mc ready ALIAS`" in capsys.readouterr().err


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/minio/health/ready" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_mc_ready_exits_0_when_the_server_answers_and_1_when_not(monkeypatch, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        monkeypatch.setenv("MC_HOST_up", f"http://key:secret@127.0.0.1:{port}")
        assert shim.mc_main(["ready", "up"]) == 0
        assert "The cluster 'up' is ready" in capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv("MC_HOST_down", f"http://127.0.0.1:{port}")
    assert shim.mc_main(["ready", "down"]) == 1
    assert "down is not ready" in capsys.readouterr().err
