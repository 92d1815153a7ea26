"""What tasks print: readable text for people, one JSON document for cron and CI.

Results (`say`, `emit_json`) go to stdout; progress, warnings and errors go to stderr, so
that `--json` output stays one clean document. Everything goes through
`shipyard.masking.mask`, and expected failures become one line on stderr and the exit
code from docs/architecture.md (Conventions).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from rich.console import Console
from rich.markup import escape

from shipyard.errors import ExitCode, RefusedError, ShipyardError
from shipyard.masking import mask, mask_data

P = ParamSpec("P")
R = TypeVar("R")

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def say(text: str, *, style: str | None = None) -> None:
    """Print one line of human-readable output to stdout."""
    _out.print(escape(mask(text)), style=style)


def result(text: str) -> None:
    """Report what a task achieved, on stdout (its outcome, not its progress)."""
    _out.print(f"[green]✓[/] {escape(mask(text))}")


def step(text: str) -> None:
    """Announce a step of a longer operation (stderr)."""
    _err.print(f"[bold cyan]→[/] {escape(mask(text))}")


def done(text: str) -> None:
    """Report a finished step (stderr)."""
    _err.print(f"[green]✓[/] {escape(mask(text))}")


def skipped(text: str) -> None:
    """Report a step that had nothing to do (stderr)."""
    _err.print(f"[dim]·[/] {escape(mask(text))}")


def warn(text: str) -> None:
    """Print a warning on stderr."""
    _err.print(f"[yellow]warning:[/] {escape(mask(text))}")


def error(text: str) -> None:
    """Print an error line on stderr."""
    _err.print(f"[red]error:[/] {escape(mask(text))}")


def emit_json(payload: Any) -> None:
    """Print one machine-readable JSON document on stdout, secrets masked."""
    sys.stdout.write(json.dumps(mask_data(payload), indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def confirm(
    question: str,
    *,
    yes: bool,
    refusal: str,
    expected: str = "yes",
    details: Sequence[str] = (),
    interactive: bool | None = None,
    ask: Callable[[str], str] = input,
) -> None:
    """Go on when --yes was given (`yes`) or the user types `expected` on a terminal;
    otherwise RefusedError (exit 3), changing nothing. The one confirmation primitive:
    every prompt of every task goes through it.

    `refusal` names what is at stake ("a restore replaces the database"); it leads the
    error when there is no terminal to ask on (cron, CI: `interactive` defaults to whether
    stdin is a terminal). `details` (e.g. the plan) are shown before the question, on a
    terminal only."""
    if yes:
        return
    if not (sys.stdin.isatty() if interactive is None else interactive):
        raise RefusedError(f"{refusal}: not confirmed (no terminal to ask on)", hint="pass --yes")
    for line in details:
        say(line)
    answer = ask(f"{question} Type `{expected}` to go on: ")
    if answer.strip() != expected:
        raise RefusedError(f"{refusal}: not confirmed; nothing was changed")


def confirm_name(question: str, name: str, *, yes: bool, refusal: str) -> None:
    """`confirm` that asks for `name` itself to be typed (an environment about to lose its
    data), not just `yes`."""
    confirm(question, yes=yes, refusal=refusal, expected=name)


@contextmanager
def status(text: str) -> Iterator[None]:
    """A spinner while a long step runs (plain text when not on a terminal); stderr."""
    if _err.is_terminal:
        with _err.status(escape(mask(text))):
            yield
    else:
        step(text)
        yield


def exits_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a ShipyardError into one masked line on stderr and its exit code.

    Tasks wrap themselves in this so that no expected failure ends in a traceback.
    """
    from invoke.exceptions import Exit

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ShipyardError as exc:
            error(exc.one_line())
            raise Exit(code=int(exc.exit_code)) from None
        except KeyboardInterrupt:
            error("interrupted")
            raise Exit(code=int(ExitCode.FAILED)) from None

    return wrapper
