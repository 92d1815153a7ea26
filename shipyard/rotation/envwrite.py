"""What a rotation writes back: the env file with one statement changed (atomically, mode
0600), and what it reports (never a value)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shipyard.envfile.load import parse_env_text
from shipyard.envfile.render import format_assignment
from shipyard.errors import ConfigError


@dataclass(frozen=True)
class RotationOutcome:
    """What a rotation did (never the value)."""

    env: str
    name: str
    env_file: str
    release: str | None
    """The release the app now runs (a VM), None locally."""


def with_value(text: str, name: str, value: str) -> str:
    """`text` with the statement that sets `name` replaced by `name=value` (quoted when the
    value needs it); every other line is kept as written. ConfigError when the file does
    not set `name`."""
    parsed = parse_env_text(text)
    entries = [entry for entry in parsed.entries if entry.key == name]
    if not entries:
        raise ConfigError(f"the env file does not set {name}")
    entry = entries[-1]
    line = format_assignment(name, value)
    lines = [*parsed.lines[: entry.line - 1], line, *parsed.lines[entry.end_line :]]
    return "\n".join(lines)


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (a temporary file renamed over it), mode 0600."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.rename(path)
