"""The one place secret values are hidden before anything is printed or logged.

Every output path (the console, log records, exception messages, `--json`) passes its
text through `mask`. Values are registered when an env file is read, so a secret from
that file cannot reach a terminal, a log file or CI output.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

MASK = "********"
_MIN_MASKED_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()


def register(*values: str | None) -> None:
    """Remember secret values so that `mask` hides them from now on."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_MASKED_LENGTH:
                _secrets.add(value)


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


class MaskingFilter(logging.Filter):
    """A logging filter that masks secret values in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its masked form; never drops a record."""
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
