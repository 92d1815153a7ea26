"""Resolving an env file's secret references (shipyard.envfile.references) on this machine:
each reference's command runs here, its standard output is the value. Values are registered
for masking at once and never printed; a failure names the line and variable, never output.
"""

from __future__ import annotations

import shutil
import subprocess

from shipyard import masking
from shipyard.envfile.load import parse_env_text
from shipyard.envfile.references import Kind, Reference, parse
from shipyard.envfile.render import format_assignment
from shipyard.errors import ConfigError

TIMEOUT_SECONDS = 60.0
HINTS = {
    Kind.ONE_PASSWORD: "install the 1Password CLI (op) and sign in, or set"
    " OP_SERVICE_ACCOUNT_TOKEN",
    Kind.COMMAND: "install the command, or deploy from a machine that has it",
}


def referenced(text: str) -> dict[str, tuple[int, Reference]]:
    """Variable -> (line, reference) for each statement of `text` that is a reference."""
    found = {}
    for entry in parse_env_text(text).entries:
        if entry.value is None or entry.quote == "'":
            continue
        reference = parse(entry.raw_value)
        if reference is not None:
            found[entry.key] = (entry.line, reference)
    return found


def resolve_text(text: str, file: str) -> str:
    """`text` with every reference replaced by `KEY=value` (the value its command prints,
    without the trailing line break); other lines as written. ConfigError (one line naming
    `file`, the line and the variable) when a command is missing, fails or prints nothing."""
    parsed = parse_env_text(text)
    lines = list(parsed.lines)
    for entry in reversed(parsed.entries):
        if entry.value is None or entry.quote == "'":
            continue
        reference = parse(entry.raw_value)
        if reference is None:
            continue
        value = resolve(reference, f"{file}:{entry.line}: {entry.key}")
        try:
            assignment = format_assignment(entry.key, value)
        except ValueError:
            raise ConfigError(
                f"{file}:{entry.line}: {entry.key}: the value its reference gives has both"
                " `$` and a quote or backslash, which no env file can hold",
                hint="store a value without them",
            ) from None
        lines[entry.line - 1 : entry.end_line] = [assignment]
    return "\n".join(lines)


def resolve(reference: Reference, where: str) -> str:
    """Run the reference's command here; its output is the value."""
    argv = reference.argv()
    if shutil.which(argv[0]) is None:
        raise ConfigError(
            f"{where}: `{argv[0]}` is not installed on this machine", hint=HINTS[reference.kind]
        )
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"{where}: its reference did not answer within {TIMEOUT_SECONDS:.0f} s"
        ) from None
    value = result.stdout.decode("utf-8", errors="replace").removesuffix("\n")
    value = value.removesuffix("\r")
    if value:
        masking.register(value)
    if result.returncode != 0:
        error = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        reason = masking.mask(error[-1]) if error else "no message"
        raise ConfigError(
            f"{where}: its reference failed ({argv[0]} exited {result.returncode}: {reason})"
        )
    if not value:
        raise ConfigError(f"{where}: its reference gave an empty value")
    return value
