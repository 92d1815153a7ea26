"""The edge's nginx config: the committed local one is the renderer's, TLS follows
Mozilla's intermediate profile 6.0, HTTP/2 in the syntax of the nginx version, port 80
only ACME and redirects."""

from __future__ import annotations

import pytest

from shipyard.config import PROJECT_ROOT
from shipyard.edge.nginx_conf import LOCAL_NGINX, parse_nginx_version, render_docstore_conf
from shipyard.edge.policy import edge_policy
from shipyard.edge.settings import EdgeSettings

OLD = (1, 22, 1)
NEW = (1, 27, 3)


def tls(**options: object) -> EdgeSettings:
    return EdgeSettings("https://docs.example.com", **options)  # type: ignore[arg-type]


def render(settings: EdgeSettings, version: tuple[int, int, int] = OLD, **values: str) -> str:
    """The config for `settings` with the policy of env values `values` (production's)."""
    return render_docstore_conf(settings, version, edge_policy({"APP_ENV": "production", **values}))


def test_the_committed_local_config_is_the_rendered_one():
    committed = (PROJECT_ROOT / "nginx" / "conf.d" / "docstore.conf").read_text(encoding="utf-8")
    local = edge_policy({"APP_ENV": "local"})
    expected = render_docstore_conf(EdgeSettings("http://127.0.0.1:8080"), LOCAL_NGINX, local)
    assert committed == expected


def test_http_environments_have_no_tls_server():
    text = render(EdgeSettings("http://127.0.0.1:18081"), OLD)
    assert "ssl" not in text
    assert "Strict-Transport-Security" not in text


def test_mozilla_intermediate_settings():
    text = render(tls(), OLD)
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "ssl_prefer_server_ciphers off;" in text
    assert "ssl_session_cache shared:" in text
    assert "ssl_stapling off;" in text
    assert "dhparam" not in text
    ciphers = text.split("ssl_ciphers ")[1].split(";")[0].split(":")
    assert ciphers and all(c.startswith("ECDHE-") for c in ciphers)
    assert all(("GCM" in c) or ("CHACHA20-POLY1305" in c) for c in ciphers)


def test_http2_syntax_follows_the_nginx_version():
    assert "listen 8443 ssl http2 default_server;" in render(tls(), OLD)
    new = render(tls(), NEW)
    assert "listen 8443 ssl default_server;\n    http2 on;" in new
    assert "ssl http2" not in new


def test_the_certificate_is_read_per_handshake_from_one_file():
    text = render(tls(), OLD)
    assert "ssl_certificate $edge_certificate;" in text
    assert "ssl_certificate_key $edge_certificate;" in text
    assert "default /etc/nginx/certs/edge.pem;" in text


def test_port_80_answers_acme_and_redirects_to_the_public_origin():
    text = render(EdgeSettings("https://localhost:18443"), OLD)
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
    text = render(tls(**options), OLD)
    assert f'add_header Strict-Transport-Security "{value}" always;' in text


def test_nginx_version_parsing():
    assert parse_nginx_version("nginx version: nginx/1.22.1\n") == (1, 22, 1)
    with pytest.raises(ValueError, match="no nginx version"):
        parse_nginx_version("sh: nginx: not found")


def test_rate_limits_by_class_with_an_honest_retry_after():
    text = render(tls())
    assert "zone=per_client:10m rate=100r/m;" in text
    assert "zone=writes:10m rate=10r/m;" in text
    assert "limit_req zone=per_client burst=50 nodelay;" in text
    assert "limit_req zone=writes burst=10 nodelay;" in text
    retry = text.split("map $request_method $retry_after {")[1].split("}")[0]
    assert "default 1;" in retry and "POST 6;" in retry and "DELETE 6;" in retry
    slow = render(tls(), RATE_LIMIT_PER_MINUTE="20", RATE_LIMIT_WRITES_PER_MINUTE="4")
    assert "default 3;" in slow and "POST 15;" in slow


def test_dev_environments_default_to_load_test_limits():
    local = render_docstore_conf(tls(), OLD, edge_policy({"APP_ENV": "sandbox"}))
    assert "rate=3000r/m;" in local and "rate=600r/m;" in local


def test_cors_only_for_configured_origins():
    none = render(tls())
    assert "$http_origin;" not in none.split("map $http_origin $cors_origin {")[1].split("}")[0]
    assert 'add_header Vary "Origin"' not in none
    text = render(tls(), CORS_ORIGINS="https://app.example.com", CORS_CREDENTIALS="true")
    origins = text.split("map $http_origin $cors_origin {")[1].split("}")[0]
    assert '"https://app.example.com" $http_origin;' in origins
    assert '"~." "true";' in text.split("map $cors_origin $cors_credentials {")[1].split("}")[0]
    assert "1 600;" in text.split("map $cors_preflight $cors_max_age {")[1].split("}")[0]
    assert 'add_header Vary "Origin" always;' in text


def test_gzip_for_text_only():
    text = render(tls())
    types = text.split("gzip_types ")[1].split(";")[0].split()
    assert "application/json" in types and "text/plain" in types
    assert not [t for t in types if t.startswith(("image/png", "image/jpeg", "application/zip"))]
    assert "gzip_vary on;" in text


def test_timeouts_real_ip_and_request_id():
    text = render(tls(), PROXY_READ_TIMEOUT="120", REAL_IP_FROM="10.0.0.0/16, 192.0.2.7")
    assert "proxy_read_timeout 120s;" in text
    assert "set_real_ip_from 10.0.0.0/16;\n    set_real_ip_from 192.0.2.7;" in text
    assert "real_ip_header X-Forwarded-For;" in text
    assert "set_real_ip_from" not in render(tls())
    limited = text.split("location @rate_limited {")[1].split("}")[0]
    assert "add_header X-Request-ID $req_id always;" in limited
    assert "proxy_set_header X-Request-ID $req_id;" in text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"CORS_ORIGINS": "app.example.com"}, "is not an origin"),
        ({"CORS_ORIGINS": "https://app.example.com/path"}, "is not an origin"),
        ({"REAL_IP_FROM": "10.0.0.0/33"}, "is not an address or CIDR"),
        ({"RATE_LIMIT_PER_MINUTE": "0"}, "from 1 to"),
    ],
)
def test_bad_policy_values_are_refused_naming_the_variable(values, message):
    from shipyard.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        edge_policy(values)
