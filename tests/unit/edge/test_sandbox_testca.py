"""The sandbox's test ACME server: Pebble's config and command lines, and the env file
lines an https sandbox gets."""

from __future__ import annotations

import stat
from pathlib import Path

from shipyard.config import load_config
from shipyard.sandbox import testca
from shipyard.sandbox.tls import env_values, set_values

CA = testca.TestCA(Path("/state"), 14000, 15000, 8053, 8055)


def test_pebble_validates_on_the_sandbox_port_with_short_certificates():
    config = testca.pebble_config(CA, 18080)["pebble"]
    assert isinstance(config, dict)
    assert config["httpPort"] == 18080
    assert config["listenAddress"] == "127.0.0.1:14000"
    assert config["certificateValidityPeriod"] == 30 * 86400
    assert testca.pebble_argv(CA)[-2:] == ["-dnsserver", "127.0.0.1:8053"]


def test_challtestsrv_answers_no_name_by_default_and_never_ipv6():
    argv = testca.challtestsrv_argv(CA)
    assert argv[argv.index("-defaultIPv4") + 1] == ""
    assert argv[argv.index("-defaultIPv6") + 1] == ""
    assert argv[argv.index("-http01") + 1] == ""


def test_the_server_certificate_is_for_loopback_and_its_key_private(tmp_path):
    testca.write_server_certificate(tmp_path)
    assert b"BEGIN CERTIFICATE" in (tmp_path / "server.pem").read_bytes()
    assert stat.S_IMODE((tmp_path / "server-key.pem").stat().st_mode) == 0o600


def test_env_lines_point_the_sandbox_at_its_test_ca():
    env = load_config().environment("sandbox")
    env = env.model_copy(update={"public_url": "https://localhost:18443", "http_port": 18080})
    values = env_values(env, CA)
    assert values["HTTP_PORT"] == "18080"
    assert values["HTTPS_PORT"] == "18443"
    assert values["ACME_DIRECTORY"] == "https://127.0.0.1:14000/dir"
    assert values["TLS_TRUST_FILE"] == "/state/root.pem"


def test_set_values_replaces_or_appends_and_keeps_the_file_private(tmp_path):
    path = tmp_path / ".env.sandbox"
    path.write_text("APP_ENV=sandbox\nHTTP_PORT=18443\n", encoding="utf-8")
    path.chmod(0o600)
    set_values(path, {"HTTP_PORT": "18080", "ACME_EMAIL": "sandbox@example.org"})
    assert path.read_text(encoding="utf-8") == (
        "APP_ENV=sandbox\nHTTP_PORT=18080\nACME_EMAIL=sandbox@example.org\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
