from __future__ import annotations

import pytest

from docstore.settings import (
    DatabaseSettings,
    ServerSettings,
    Settings,
    SettingsError,
    StorageSettings,
    load,
)


def _set(monkeypatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_defaults_match_the_documented_contract(clean_env):
    _set(
        clean_env,
        POSTGRES_DB="d",
        POSTGRES_USER="u",
        POSTGRES_PASSWORD="pw-123456",
        S3_ACCESS_KEY="ak-123456",
        S3_SECRET_KEY="sk-123456",
    )
    s = load(Settings)
    assert s.app_env == "local"
    assert s.log_level == "INFO"
    assert s.debug is False
    assert s.max_upload_bytes == 10485760
    assert s.web_concurrency == 2
    assert s.gunicorn_timeout == 30
    assert s.gunicorn_graceful_timeout == 20
    assert (s.postgres_host, s.postgres_port) == ("db", 5432)
    assert s.s3_endpoint == "objectstore:9000"
    assert (s.s3_bucket, s.s3_region, s.s3_secure) == ("documents", "us-east-1", False)
    assert (s.app_version, s.git_sha, s.build_time) == ("unknown", "unknown", "unknown")


def test_every_contract_variable_is_read_from_the_environment(clean_env):
    _set(
        clean_env,
        APP_ENV="staging",
        LOG_LEVEL="debug",
        DEBUG="true",
        PUBLIC_URL="https://docs.example.test/",
        MAX_UPLOAD_BYTES="2048",
        WEB_CONCURRENCY="4",
        GUNICORN_TIMEOUT="60",
        GUNICORN_GRACEFUL_TIMEOUT="25",
        POSTGRES_HOST="pg",
        POSTGRES_PORT="6543",
        POSTGRES_DB="d",
        POSTGRES_USER="u",
        POSTGRES_PASSWORD="pw-123456",
        S3_ENDPOINT="store:9100",
        S3_ACCESS_KEY="ak-123456",
        S3_SECRET_KEY="sk-123456",
        S3_BUCKET="docs-bucket",
        S3_REGION="eu-west-1",
        S3_SECURE="1",
        APP_VERSION="1.2.3",
        GIT_SHA="abc123",
        BUILD_TIME="2025-01-01T00:00:00Z",
    )
    s = load(Settings)
    assert s.app_env == "staging"
    assert s.log_level == "DEBUG"
    assert s.debug is True
    assert s.public_url == "https://docs.example.test"  # trailing slash dropped
    assert s.max_upload_bytes == 2048
    assert (s.web_concurrency, s.gunicorn_timeout, s.gunicorn_graceful_timeout) == (4, 60, 25)
    assert (s.postgres_host, s.postgres_port, s.postgres_db, s.postgres_user) == (
        "pg",
        6543,
        "d",
        "u",
    )
    assert s.postgres_password.get_secret_value() == "pw-123456"
    assert (s.s3_endpoint, s.s3_bucket, s.s3_region, s.s3_secure) == (
        "store:9100",
        "docs-bucket",
        "eu-west-1",
        True,
    )
    assert (s.app_version, s.git_sha, s.build_time) == ("1.2.3", "abc123", "2025-01-01T00:00:00Z")


@pytest.mark.parametrize(("raw", "expected"), [("warn", "WARNING"), (" error ", "ERROR")])
def test_log_level_is_normalised(clean_env, raw, expected):
    clean_env.setenv("LOG_LEVEL", raw)
    assert load(ServerSettings).log_level == expected


def test_empty_values_mean_default(clean_env):
    _set(clean_env, LOG_LEVEL="", WEB_CONCURRENCY="")
    s = load(ServerSettings)
    assert (s.log_level, s.web_concurrency) == ("INFO", 2)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_LEVEL", "chatty", "LOG_LEVEL"),
        ("APP_ENV", "prod", "APP_ENV"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY"),
        ("GUNICORN_TIMEOUT", "soon", "GUNICORN_TIMEOUT"),
        ("DEBUG", "maybe", "DEBUG"),
        ("APP_SOCKET_DIR", "run/app", "APP_SOCKET_DIR"),
    ],
)
def test_invalid_server_values_are_named(clean_env, name, value, message):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load(ServerSettings)


def test_debug_is_refused_in_production(clean_env):
    _set(clean_env, APP_ENV="production", DEBUG="true")
    with pytest.raises(SettingsError, match="DEBUG must be false"):
        load(ServerSettings)
    clean_env.setenv("DEBUG", "false")
    assert load(ServerSettings).app_env == "production"


def test_missing_required_variables_are_listed_without_any_value(clean_env):
    _set(clean_env, POSTGRES_PASSWORD="very-secret-password", S3_SECRET_KEY="s3-secret-value-42")
    with pytest.raises(SettingsError) as info:
        load(Settings)
    message = str(info.value)
    for name in ("POSTGRES_DB", "POSTGRES_USER", "S3_ACCESS_KEY"):
        assert f"{name}: is required but not set" in message
    assert "very-secret-password" not in message
    assert "s3-secret-value-42" not in message
    assert info.value.__cause__ is None  # the pydantic error (with inputs) is not chained


def test_invalid_value_message_does_not_echo_the_value(clean_env):
    clean_env.setenv("POSTGRES_PORT", "not-a-port-hunter2")
    with pytest.raises(SettingsError) as info:
        load(DatabaseSettings, postgres_db="d", postgres_user="u", postgres_password="x")
    assert "POSTGRES_PORT" in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("endpoint", ["http://store:9000", "store:9000/path", "  "])
def test_s3_endpoint_must_be_host_port(endpoint):
    with pytest.raises(SettingsError, match="S3_ENDPOINT"):
        load(StorageSettings, s3_access_key="a", s3_secret_key="b", s3_endpoint=endpoint)


def test_public_url_needs_a_scheme(clean_env):
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        load(
            Settings,
            public_url="docs.example.test",
            postgres_db="d",
            postgres_user="u",
            postgres_password="p",
            s3_access_key="a",
            s3_secret_key="b",
        )


def test_database_url_never_shows_the_password(make_settings):
    s = make_settings(postgres_host="pg", postgres_port=6543)
    url = s.database_url()
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.username) == ("pg", 6543, "docstore", "docstore")
    assert url.password == "db-password-123456"
    assert "db-password-123456" not in str(url)
    assert "db-password-123456" not in repr(url)
    assert "db-password-123456" not in repr(s)


def test_partial_settings_need_only_their_own_variables(clean_env):
    _set(clean_env, S3_ACCESS_KEY="ak-123456", S3_SECRET_KEY="sk-123456")
    assert load(StorageSettings).s3_bucket == "documents"  # no POSTGRES_* needed
    assert load(ServerSettings).web_concurrency == 2  # nothing needed
