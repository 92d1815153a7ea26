"""The objectstore stand-in's `minio`/`mc` shims: credentials, SeaweedFS's command line,
the identity file, health.

The shim is the file baked into shipyard-local/objectstore; SeaweedFS itself (signature
checks, storage on disk) is exercised against the real image in
tests/integration/images/test_objectstore_standin.py.
"""

from __future__ import annotations

import http.server
import importlib.util
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


def test_the_identity_file_is_private_and_names_only_the_root_credentials():
    path = shim.write_identities("docstore", "correct-horse-battery")
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with open(path, encoding="utf-8") as handle:
            identities = json.load(handle)["identities"]
        assert [i["credentials"] for i in identities] == [
            [{"accessKey": "docstore", "secretKey": "correct-horse-battery"}]
        ]
    finally:
        os.remove(path)
        os.rmdir(os.path.dirname(path))


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
