"""Secrets given as files (`<NAME>_FILE`, the compose secrets under /run/secrets), and the
readiness log that says once why the app is not ready and once when it is again."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from docstore.api.health import ReadinessLog
from docstore.logging_setup import SecretMasker, secret_values_from_env
from docstore.settings import DatabaseSettings, Settings, SettingsError, file_values, load


def _secret(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value, encoding="utf-8")
    path.chmod(0o400)
    return str(path)


def test_every_secret_can_come_from_a_file(clean_env, tmp_path):
    clean_env.setenv("POSTGRES_DB", "docstore")
    clean_env.setenv("POSTGRES_USER", "docstore")
    clean_env.setenv("POSTGRES_PASSWORD_FILE", _secret(tmp_path, "pg", "pg-pass-123456\n"))
    clean_env.setenv("S3_ACCESS_KEY_FILE", _secret(tmp_path, "ak", "AKIA1234567890ABCD"))
    clean_env.setenv("S3_SECRET_KEY_FILE", _secret(tmp_path, "sk", "s3-secret-key-0123456789\r\n"))
    settings = load(Settings)
    assert settings.postgres_password.get_secret_value() == "pg-pass-123456"
    assert settings.s3_access_key.get_secret_value() == "AKIA1234567890ABCD"
    assert settings.s3_secret_key.get_secret_value() == "s3-secret-key-0123456789"


def test_a_value_and_its_file_together_are_refused(clean_env, tmp_path):
    clean_env.setenv("POSTGRES_PASSWORD", "pg-pass-123456")
    clean_env.setenv("POSTGRES_PASSWORD_FILE", _secret(tmp_path, "pg", "other-pass-123456"))
    with pytest.raises(SettingsError, match="both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE"):
        load(DatabaseSettings)


def test_an_unreadable_file_is_one_line_without_the_value(clean_env, tmp_path):
    missing = tmp_path / "nope"
    clean_env.setenv("POSTGRES_PASSWORD_FILE", str(missing))
    with pytest.raises(SettingsError) as caught:
        load(DatabaseSettings)
    assert str(caught.value) == (
        f"POSTGRES_PASSWORD_FILE: cannot read {missing} (No such file or directory)"
    )


def test_file_values_ignores_variables_the_settings_do_not_read(tmp_path):
    environ = {"OTHER_FILE": _secret(tmp_path, "o", "x"), "POSTGRES_DB": "d"}
    assert file_values(DatabaseSettings, environ) == {}


def test_secrets_in_files_are_masked_in_logs(tmp_path):
    environ = {
        "POSTGRES_PASSWORD_FILE": _secret(tmp_path, "pg", "pg-pass-123456\n"),
        "S3_ACCESS_KEY_FILE": _secret(tmp_path, "ak", "AKIA1234567890ABCD"),
        "LOG_LEVEL_FILE": _secret(tmp_path, "ll", "INFO-not-a-secret"),
    }
    values = secret_values_from_env(environ)
    assert "pg-pass-123456" in values and "AKIA1234567890ABCD" in values
    assert "INFO-not-a-secret" not in values
    masker = SecretMasker(values)
    assert masker.mask("auth failed for pg-pass-123456") == "auth failed for ********"


def test_readiness_is_logged_when_it_changes_only(caplog):
    failing = {
        "database": {"status": "error", "error": "OperationalError: password authentication"},
        "object_store": {"status": "ok", "latency_ms": 1.0},
    }
    fine = {"database": {"status": "ok"}, "object_store": {"status": "ok"}}
    readiness = ReadinessLog()
    with caplog.at_level(logging.INFO, logger="docstore.ready"):
        for checks, ready in [(failing, False), (failing, False), (fine, True), (fine, True)]:
            readiness.record(ready, checks)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "not ready: database: OperationalError: password authentication"),
        ("INFO", "ready: every dependency answers"),
    ]


class _SlowStore:
    """A store that does not answer in time for its first `slow` calls."""

    bucket = "documents"

    def __init__(self, slow: int) -> None:
        self.slow, self.calls = slow, 0

    def ensure_bucket(self) -> bool:
        self.calls += 1
        if self.calls <= self.slow:
            raise TimeoutError("read timed out")
        return True


def test_a_slow_store_at_start_up_still_gets_its_bucket(caplog):
    import asyncio
    from types import SimpleNamespace

    from docstore.application import ensure_bucket_at_startup

    store = _SlowStore(slow=2)
    resources = SimpleNamespace(probe_store=store, store=store)
    with caplog.at_level(logging.INFO, logger="docstore"):
        asyncio.run(ensure_bucket_at_startup(resources, attempts=5, pause=0.01))
    assert store.calls == 3
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "could not ensure the bucket at start-up (retrying): TimeoutError: read timed out",
        "bucket created",
    ]
