"""The objectstore stand-in's `minio`/`mc` shims: credentials, SeaweedFS's command line,
the identity file, health.

The shim is the file baked into shipyard-local/objectstore; SeaweedFS itself (signature
checks, storage on disk) is exercised against the real image in
tests/integration/images/test_objectstore_standin.py.
"""

from __future__ import annotations

import datetime
import http.server
import importlib.util
import io
import json
import os
import stat
import threading

import pytest

from shipyard.images.catalog import IMAGES_DIR

SPEC = importlib.util.spec_from_file_location(
    "objectstore_shim", IMAGES_DIR / "objectstore" / "objectstore.py"
)
shim = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(shim)


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


def test_the_identity_file_is_private_and_names_only_the_root_credentials(tmp_path):
    directory = str(tmp_path / "state")
    path = shim.write_identities("docstore", "correct-horse-battery", directory)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    with open(path, encoding="utf-8") as handle:
        identities = json.load(handle)["identities"]
    assert [i["credentials"] for i in identities] == [
        [{"accessKey": "docstore", "secretKey": "correct-horse-battery"}]
    ]
    # A restart starts again from the root credentials, whatever was added meanwhile.
    assert shim.write_identities("other-root", "another-password", directory) == path
    with open(path, encoding="utf-8") as handle:
        credentials = json.load(handle)["identities"][0]["credentials"]
    assert credentials == [{"accessKey": "other-root", "secretKey": "another-password"}]
    assert sorted(os.listdir(directory)) == [shim.IDENTITY_FILE]


def test_a_second_key_is_added_beside_the_root_one_and_the_last_is_never_removed():
    document = shim.s3_identities("old-access-key-0001", "old-secret")
    assert shim.with_key(document, "new-access-key-0002", "new-secret") is True
    assert shim.with_key(document, "new-access-key-0002", "new-secret") is False
    with pytest.raises(ValueError, match="another secret key"):
        shim.with_key(document, "new-access-key-0002", "not-the-same")
    assert [c["accessKey"] for c in shim.root_credential_list(document)] == [
        "old-access-key-0001",
        "new-access-key-0002",
    ]
    assert shim.without_key(document, "old-access-key-0001") is True
    assert shim.without_key(document, "old-access-key-0001") is False
    with pytest.raises(ValueError, match="only key"):
        shim.without_key(document, "new-access-key-0002")
    assert document["identities"][0]["actions"] == ["Admin", "Read", "List", "Tagging", "Write"]
    with pytest.raises(ValueError, match="no root identity"):
        shim.with_key({"identities": []}, "a", "b")


def test_the_probe_is_signed_as_the_minio_sdk_signs():
    from urllib.parse import urlsplit

    from minio.credentials import Credentials
    from minio.signer import sign_v4_s3

    now = datetime.datetime(2026, 12, 3, 12, 0, 0, tzinfo=datetime.UTC)
    ours = shim.sigv4_headers("127.0.0.1:9000", "access-key-00001", "the-secret-key", now)
    headers = {k: v for k, v in ours.items() if k != "Authorization"}
    theirs = sign_v4_s3(
        method="GET",
        url=urlsplit("http://127.0.0.1:9000/"),
        region="us-east-1",
        headers=headers,
        credentials=Credentials("access-key-00001", "the-secret-key"),
        content_sha256=ours["x-amz-content-sha256"],
        date=now,
    )
    assert ours["Authorization"] == theirs["Authorization"]


def test_keys_come_on_stdin_and_bad_input_exits_2(monkeypatch, tmp_path, capsys):
    assert shim.keys_main([], {}, str(tmp_path)) == 2
    assert shim.keys_main(["add", "key", "secret"], {}, str(tmp_path)) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("key-0000000001\nsecret\n"))
    assert shim.keys_main(["add"], {}, str(tmp_path)) == 1  # no server started here
    assert "No such file or directory" in capsys.readouterr().err
    shim.write_identities("root-access-key1", "root-secret-key-1", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("only-one-line\n"))
    assert shim.keys_main(["add"], {}, str(tmp_path)) == 2
    assert "expected 2 non-empty line(s) on standard input" in capsys.readouterr().err


def test_weed_stores_in_the_data_dir_serves_s3_on_the_address_and_phones_nobody():
    argv = shim.weed_argv("/data", ":9000", "/tmp/x/s3.json")
    assert argv[:2] == [shim.WEED, "mini"]
    assert "-dir=/data" in argv
    assert "-s3.port=9000" in argv and "-ip.bind=0.0.0.0" in argv
    assert "-s3.config=/tmp/x/s3.json" in argv
    assert "-master.telemetry=false" in argv
    assert f"-s3.readerCacheSizeMB={shim.READER_BUDGET_MB}" in argv
    assert not any("secret" in arg or "password" in arg.lower() for arg in argv)
    assert "-ip.bind=127.0.0.1" in shim.weed_argv("/d", "127.0.0.1:9100", "/c")


def test_addresses_and_aliases():
    assert shim.split_address(":9000") == ("0.0.0.0", 9000)  # noqa: S104 - in the container
    assert shim.split_address("127.0.0.1:9100") == ("127.0.0.1", 9100)
    with pytest.raises(SystemExit, match="HOST"):
        shim.split_address("nowhere")
    assert shim.alias_url("local", {}) == "http://127.0.0.1:9000"
    assert shim.alias_url("local", {"MINIO_ADDRESS": ":9100"}) == "http://127.0.0.1:9100"
    assert (
        shim.alias_url("backup", {"MC_HOST_backup": "https://key:secret@s3.example:443"})
        == "https://s3.example:443"
    )
    with pytest.raises(SystemExit, match="MC_HOST_nowhere"):
        shim.alias_url("nowhere", {})


def test_only_the_commands_the_stack_uses_are_implemented(capsys):
    assert shim.minio_main(["--version"], {}) == 0
    assert shim.minio_main(["gateway", "s3"], {}) == 2
    assert shim.minio_main(["server"], {}) == 2
    assert "exactly one data directory" in capsys.readouterr().err
    assert shim.mc_main(["--version"], {}) == 0
    assert shim.mc_main(["admin", "info", "local"], {}) == 2
    assert "only `mc ready ALIAS`" in capsys.readouterr().err


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == shim.HEALTH_PATH else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_mc_ready_exits_0_when_the_server_answers_and_1_when_not(capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        environ = {"MC_HOST_up": f"http://key:secret@127.0.0.1:{port}"}
        assert shim.mc_main(["ready", "up"], environ) == 0
        assert "The cluster 'up' is ready" in capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
    assert shim.mc_main(["ready", "down"], {"MC_HOST_down": f"http://127.0.0.1:{port}"}) == 1
    assert "down is not ready" in capsys.readouterr().err
