"""The one place secret values are hidden before anything is printed or logged.

Every output path (the console, log records, exception messages, `--json`) passes its
text through `mask`. Values are registered when an env file is read, so a secret from
that file cannot reach a terminal, a log file or CI output. The first registration also
masks every log record as it is created (whatever handlers are configured, now or later)
and the traceback of any uncaught exception.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

MASK = "********"
_MIN_MASKED_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def register(*values: str | None) -> None:
    """Remember secret values so that `mask` hides them from now on."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_MASKED_LENGTH:
                _secrets.add(value)
    _install_once()


def forget_all() -> None:
    """Drop every registered value (tests use this to start clean)."""
    with _lock:
        _secrets.clear()


def mask(text: str) -> str:
    """`text` with every registered secret value replaced by a fixed mask."""
    with _lock:
        ordered = sorted(_secrets, key=len, reverse=True)
    for value in ordered:
        if value in text:
            text = text.replace(value, MASK)
    return text


def mask_data(value: Any) -> Any:
    """A JSON-ready structure with every string in it masked."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask_data(key): mask_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(item) for item in value]
    return value


def mask_record(record: logging.LogRecord) -> None:
    """Replace a log record's message, traceback and stack with their masked forms."""
    if not _secrets:
        return
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a broken format string: logging reports it itself
        return
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if mask(text) != text:
            record.exc_text = mask(text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


class MaskingFilter(logging.Filter):
    """A logging filter that masks secret values in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its masked form; never drops a record."""
        mask_record(record)
        return True


def _install_once() -> None:
    """Mask log records at creation and uncaught tracebacks, from the first secret on."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        mask_record(record)
        return record

    logging.setLogRecordFactory(masked_record)
    sys.excepthook = _masked_excepthook


def _masked_excepthook(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    sys.stderr.write(mask("".join(traceback.format_exception(kind, value, tb))))
