from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from docstore.context import request_id_var
from docstore.logging_setup import (
    MASK,
    RequestIdFilter,
    SecretMasker,
    SecretMaskingFilter,
    build_logging_config,
    is_secret_name,
    json_formatter,
    secret_values_from_env,
)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("POSTGRES_PASSWORD", True),
        ("S3_SECRET_KEY", True),
        ("S3_ACCESS_KEY", True),
        ("GITHUB_TOKEN", True),
        ("client_secret", True),
        ("API_KEY", True),
        ("POSTGRES_USER", False),
        ("S3_BUCKET", False),
        ("KEYBOARD", False),
        ("MONKEY", False),  # ends with KEY but not _KEY
        ("PUBLIC_URL", False),
    ],
)
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


def test_secret_values_from_env_takes_only_secret_names_and_long_values():
    env = {
        "POSTGRES_PASSWORD": "p@ss word/1",
        "S3_ACCESS_KEY": "abc",  # too short to mask sensibly
        "POSTGRES_USER": "docstore-user",
        "APP_TOKEN": "",
    }
    values = secret_values_from_env(env)
    assert "p@ss word/1" in values
    assert "p%40ss%20word%2F1" in values  # as it would appear inside a URL
    assert "abc" not in values
    assert "docstore-user" not in values
    assert values == sorted(values, key=lambda v: (-len(v), v))


def test_masker_replaces_longest_secret_first():
    masker = SecretMasker(["secret", "secret-and-more"])
    assert masker.mask("x secret-and-more y secret z") == f"x {MASK} y {MASK} z"


def test_masker_treats_secrets_as_literal_text():
    masker = SecretMasker(["a.b*c(d"])
    assert masker.mask("a.b*c(d and aXbbc(d") == f"{MASK} and aXbbc(d"


def test_masker_without_secrets_changes_nothing():
    masker = SecretMasker([])
    assert not masker
    assert masker.mask("anything") == "anything"


def test_masker_masks_nested_values():
    masker = SecretMasker(["hunter22"])
    value = {"a": ["x hunter22", ("hunter22", 3)], "b": 5}
    assert masker.mask_value(value) == {"a": [f"x {MASK}", (MASK, 3)], "b": 5}


def _record(msg, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args or None, exc_info)
    record.__dict__.update(extra)
    return record


def test_filter_masks_message_built_from_arguments():
    f = SecretMaskingFilter(secrets=["hunter22"])
    record = _record("connecting with %s to %s", "hunter22", "db")
    assert f.filter(record) is True
    assert record.getMessage() == f"connecting with {MASK} to db"
    assert record.args is None


def test_filter_masks_a_secret_split_across_format_and_argument():
    f = SecretMaskingFilter(secrets=["hunter22"])
    record = _record("pw=hunt%s", "er22")
    f.filter(record)
    assert record.getMessage() == f"pw={MASK}"


def test_filter_masks_extra_fields_and_dict_messages():
    f = SecretMaskingFilter(secrets=["hunter22"])
    record = _record({"url": "postgresql://u:hunter22@db/x"}, dsn="u:hunter22@db")
    f.filter(record)
    assert record.msg == {"url": f"postgresql://u:{MASK}@db/x"}
    assert record.dsn == f"u:{MASK}@db"


def test_filter_masks_tracebacks():
    f = SecretMaskingFilter(secrets=["hunter22"])
    try:
        raise RuntimeError("login failed for password hunter22")
    except RuntimeError:
        import sys

        record = _record("boom", exc_info=sys.exc_info())
    f.filter(record)
    assert record.exc_info is None
    assert "hunter22" not in record.exc_text
    assert "RuntimeError: login failed for password ********" in record.exc_text
    text = logging.Formatter("%(message)s").format(record)
    assert "hunter22" not in text and "RuntimeError" in text


def test_filter_is_idempotent():
    f = SecretMaskingFilter(secrets=["hunter22"])
    record = _record("a %s b", "hunter22")
    f.filter(record)
    f.filter(record)
    assert record.getMessage() == f"a {MASK} b"


def test_filter_survives_a_broken_format_string():
    f = SecretMaskingFilter(secrets=["hunter22"])
    record = _record("%d items", "hunter22")
    assert f.filter(record) is True
    assert "hunter22" not in record.getMessage()


def test_filter_reads_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("POSTGRES_PASSWORD", "env-secret-value")
    f = SecretMaskingFilter()
    record = _record("password is env-secret-value")
    f.filter(record)
    assert record.getMessage() == f"password is {MASK}"


def _json_logger(stream: io.StringIO, secrets=("hunter22",)) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretMaskingFilter(secrets=list(secrets)))
    logger = logging.getLogger("docstore.test.json")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_json_line_has_the_required_fields():
    stream = io.StringIO()
    logger = _json_logger(stream)
    token = request_id_var.set("req-42")
    try:
        logger.info("stored %s", "doc", extra={"size_bytes": 3})
    finally:
        request_id_var.reset(token)
    line = json.loads(stream.getvalue())
    assert line["message"] == "stored doc"
    assert line["level"] == "INFO"
    assert line["logger"] == "docstore.test.json"
    assert line["request_id"] == "req-42"
    assert line["size_bytes"] == 3
    assert line["timestamp"].endswith("+00:00")


def test_json_line_outside_a_request_has_null_request_id():
    stream = io.StringIO()
    _json_logger(stream).warning("starting")
    assert json.loads(stream.getvalue())["request_id"] is None


def test_json_line_never_contains_the_secret():
    stream = io.StringIO()
    logger = _json_logger(stream)
    try:
        raise ValueError("bad password hunter22")
    except ValueError:
        logger.exception("failed with %s", "hunter22", extra={"detail": "hunter22"})
    out = stream.getvalue()
    assert "hunter22" not in out
    assert out.count(MASK) >= 3


@pytest.fixture
def isolated_logging():
    """Restore every logger dictConfig touches, so other tests see logging as it was."""
    names = ["", *build_logging_config()["loggers"], "docstore.x"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]
    yield
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers, lg.level, lg.propagate, lg.disabled = handlers, level, propagate, disabled


def test_logging_config_silences_server_access_logs_and_writes_json(monkeypatch, isolated_logging):
    config = build_logging_config("debug")
    assert config["root"]["level"] == "DEBUG"
    assert config["loggers"]["gunicorn.access"]["handlers"] == ["null"]
    assert config["loggers"]["uvicorn.access"]["level"] == "WARNING"
    assert config["handlers"]["stdout"]["filters"] == ["request_id", "mask_secrets"]
    assert config["loggers"]["sqlalchemy"]["level"] == "WARNING"
    # It is a valid dictConfig, and its handler really masks and emits JSON.
    monkeypatch.setenv("POSTGRES_PASSWORD", "from-env-secret")
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    logging.config.dictConfig(build_logging_config("INFO"))
    logging.getLogger("gunicorn.error").info("boot with from-env-secret")
    logging.getLogger("uvicorn.access").info("GET / 200")  # silenced
    logging.getLogger("docstore.x").debug("below the level")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [f"boot with {MASK}"]
    assert lines[0]["logger"] == "gunicorn.error"
