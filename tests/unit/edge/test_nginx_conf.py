"""The edge's nginx config: the committed local one is the renderer's, TLS follows
Mozilla's intermediate profile 6.0, HTTP/2 in the syntax of the nginx version, port 80
only ACME and redirects."""

from __future__ import annotations

import pytest

from shipyard.config import PROJECT_ROOT
from shipyard.edge.nginx_conf import parse_nginx_version, render_docstore_conf
from shipyard.edge.settings import EdgeSettings

OLD = (1, 22, 1)
NEW = (1, 27, 3)


def tls(**options: object) -> EdgeSettings:
    return EdgeSettings("https://docs.example.com", **options)  # type: ignore[arg-type]


def test_the_committed_local_config_is_the_rendered_one():
    committed = (PROJECT_ROOT / "nginx" / "conf.d" / "docstore.conf").read_text(encoding="utf-8")
    assert committed == render_docstore_conf(EdgeSettings("http://127.0.0.1:8080"), OLD)


def test_http_environments_have_no_tls_server():
    text = render_docstore_conf(EdgeSettings("http://127.0.0.1:18081"), OLD)
    assert "ssl" not in text
    assert "Strict-Transport-Security" not in text


def test_mozilla_intermediate_settings():
    text = render_docstore_conf(tls(), OLD)
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "ssl_prefer_server_ciphers off;" in text
    assert "ssl_session_cache shared:" in text
    assert "ssl_stapling off;" in text
    assert "dhparam" not in text
    ciphers = text.split("ssl_ciphers ")[1].split(";")[0].split(":")
    assert ciphers and all(c.startswith("ECDHE-") for c in ciphers)
    assert all(("GCM" in c) or ("CHACHA20-POLY1305" in c) for c in ciphers)


def test_http2_syntax_follows_the_nginx_version():
    assert "listen 8443 ssl http2 default_server;" in render_docstore_conf(tls(), OLD)
    new = render_docstore_conf(tls(), NEW)
    assert "listen 8443 ssl default_server;\n    http2 on;" in new
    assert "ssl http2" not in new


def test_the_certificate_is_read_per_handshake_from_one_file():
    text = render_docstore_conf(tls(), OLD)
    assert "ssl_certificate $edge_certificate;" in text
    assert "ssl_certificate_key $edge_certificate;" in text
    assert "default /etc/nginx/certs/edge.pem;" in text


def test_port_80_answers_acme_and_redirects_to_the_public_origin():
    text = render_docstore_conf(EdgeSettings("https://localhost:18443"), OLD)
    plain = text.split("server {")[1]
    assert "location ^~ /.well-known/acme-challenge/" in plain
    assert "return 301 https://localhost:18443$request_uri;" in plain
    assert "proxy_pass" not in plain


@pytest.mark.parametrize(
    ("options", "value"),
    [
        ({}, "max-age=63072000"),
        ({"hsts_include_subdomains": True}, "max-age=63072000; includeSubDomains"),
        (
            {"hsts_include_subdomains": True, "hsts_preload": True},
            "max-age=63072000; includeSubDomains; preload",
        ),
    ],
)
def test_hsts_is_two_years_with_opt_in_options(options, value):
    text = render_docstore_conf(tls(**options), OLD)
    assert f'add_header Strict-Transport-Security "{value}" always;' in text


def test_nginx_version_parsing():
    assert parse_nginx_version("nginx version: nginx/1.22.1\n") == (1, 22, 1)
    with pytest.raises(ValueError, match="no nginx version"):
        parse_nginx_version("sh: nginx: not found")
