"""What of an env file goes to the VM: everything but the variables only the deployer's
machine uses (the schema marks them `deployer_only`, e.g. the registry login)."""

from __future__ import annotations

from shipyard.envfile.load import parse_env_text
from shipyard.envfile.schema import BY_NAME


def for_vm(text: str) -> str:
    """`text` without the statements (all their lines) that set deployer-only variables;
    every other line, comments included, is kept as written."""
    parsed = parse_env_text(text)
    dropped = {
        number
        for entry in parsed.entries
        if (variable := BY_NAME.get(entry.key)) is not None and variable.deployer_only
        for number in range(entry.line, entry.end_line + 1)
    }
    kept = [line for number, line in enumerate(parsed.lines, start=1) if number not in dropped]
    return "\n".join(kept)
