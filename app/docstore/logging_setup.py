"""JSON logging on stdout, with the request id on every line and secrets masked.

Used both by the application (when run under plain uvicorn or in tests) and by gunicorn.conf.py
(``logconfig_dict``), so gunicorn's, uvicorn's and the application's records share one format.
Imports only the standard library and python-json-logger: the gunicorn master loads it.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from docstore.context import request_id_var

MASK = "********"
# Values shorter than this are not masked: masking "db" or "1" everywhere would wreck every log
# line while protecting nothing (such a value is not a secret worth the name).
MIN_SECRET_LENGTH = 4
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$")

# Attributes every LogRecord has; anything else on a record is an ``extra`` field.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}


def is_secret_name(name: str) -> bool:
    """True for environment variable names whose values must never be logged."""
    return bool(_SECRET_NAME.search(name.upper()))


def secret_values_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of secret-looking variables, and of the files their `*_FILE` variables
    name (and their URL-encoded forms), longest first."""
    environ = os.environ if environ is None else environ
    values: set[str] = set()
    for name, value in environ.items():
        if name.upper().endswith("_FILE"):
            name = name[: -len("_FILE")]
            if not is_secret_name(name):
                continue
            value = _read_secret_file(value)  # a secret given as a file (/run/secrets/...)
        if is_secret_name(name) and len(value) >= MIN_SECRET_LENGTH:
            values.add(value)
            values.add(quote(value, safe=""))  # as it would appear inside a URL
    return sorted(values, key=lambda v: (-len(v), v))


def _read_secret_file(path: str) -> str:
    """The value in a `*_FILE` secret file (trailing line break dropped), or "" when it
    cannot be read (the settings report that)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().removesuffix("\n").removesuffix("\r")
    except OSError:
        return ""


class SecretMasker:
    """Replaces every occurrence of any of the given secret values with ``********``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=lambda v: (-len(v), v)
        )
        # Longest first, so a secret containing another one is replaced whole.
        self._pattern = re.compile("|".join(map(re.escape, unique))) if unique else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def mask_value(self, value: Any) -> Any:
        """Masks strings, and strings inside dicts, lists and tuples; leaves other types."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {k: self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.mask_value(v) for v in value)
        return value


class SecretMaskingFilter(logging.Filter):
    """Masks secret values in the message, its arguments, extra fields and tracebacks.

    Attach it to handlers (not loggers), so records propagated from any logger pass through it.
    It renders the message itself (msg % args) so a secret split across arguments is caught,
    and is idempotent: a record that reaches several handlers is masked again harmlessly.
    """

    def __init__(self, name: str = "", secrets: Iterable[str] | None = None) -> None:
        super().__init__(name)
        self.masker = SecretMasker(secret_values_from_env() if secrets is None else secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.masker:
            return True
        mask = self.masker.mask
        if isinstance(record.msg, Mapping):
            record.msg = self.masker.mask_value(dict(record.msg))
        else:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string must not hide the values from masking
                message = f"{record.msg!s} (arguments: {record.args!r})"
            record.msg = mask(message)
            record.args = None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask(text)
            record.exc_info = None  # formatters then print the masked exc_text instead
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = self.masker.mask_value(value)
        return True


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (from the request context, or None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
        static_fields={"service": "docstore"},
        # uvicorn adds a colourised copy of its messages: noise in JSON
        reserved_attrs=[*RESERVED_ATTRS, "color_message", "taskName"],
    )


def build_logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: everything as JSON lines on stdout.

    gunicorn's and uvicorn's access loggers are silenced: the application's access-log
    middleware writes one line per request itself.
    """
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "mask_secrets": {"()": SecretMaskingFilter},
        },
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request_id", "mask_secrets"],
            },
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stdout"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": ["null"], "propagate": False},
            "uvicorn": {"level": level, "handlers": ["stdout"], "propagate": False},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": ["null"], "propagate": False},
            # SQL echo would log statements and parameters: keep it off whatever LOG_LEVEL says
            "sqlalchemy": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def is_configured() -> bool:
    """True when the root logger already writes through our masking filter (for example
    because gunicorn.conf.py configured logging in the master before forking this worker)."""
    return any(
        isinstance(f, SecretMaskingFilter) for h in logging.getLogger().handlers for f in h.filters
    )


def configure_logging(level: str = "INFO", *, force: bool = False) -> None:
    if is_configured() and not force:
        return
    logging.config.dictConfig(build_logging_config(level))
    logging.captureWarnings(True)
