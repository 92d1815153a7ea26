"""Errors that tasks turn into one clear line and an exit code (docs/architecture.md,
Conventions)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes shared by every task."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    REFUSED = 3


class ShipyardError(Exception):
    """An expected failure: it carries the exit code and, where there is one, the fix."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and its fix on one line."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(ShipyardError):
    """Bad input or configuration: an unknown environment, a malformed file."""

    exit_code = ExitCode.BAD_INPUT


class PrerequisiteError(ShipyardError):
    """A tool the task needs is missing or not running."""

    exit_code = ExitCode.BAD_INPUT


class CommandFailedError(ShipyardError):
    """A command Shipyard ran exited non-zero."""

    exit_code = ExitCode.FAILED


class RefusedError(ShipyardError):
    """The task will not go on: a lock is held, an approval is missing."""

    exit_code = ExitCode.REFUSED
