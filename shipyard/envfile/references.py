"""Secrets an env file references instead of holding, resolved on the deploying machine at
deploy time (never written to the repository, a log or the VM's process list):

- `NAME=${op://vault/item/field}`: 1Password's secret reference, read with `op read`
  (the 1Password CLI, signed in or given OP_SERVICE_ACCOUNT_TOKEN);
- `NAME=$(command args)`: any command whose standard output is the value, as Kamal's
  secret adapters do (`$(aws secretsmanager get-secret-value ...)`, `$(pass show x)`).
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from enum import StrEnum

from shipyard.envfile.findings import Finding
from shipyard.envfile.schema import BY_NAME

_OP = re.compile(r"^\$\{(op://[^{}\s]*)\}$")
_COMMAND = re.compile(r"^\$\((.*)\)$", re.DOTALL)
_OP_PATH = re.compile(r"^op://[^/\s]+/[^/\s]+(/[^/\s]+)?/[^/\s]+$")


class Kind(StrEnum):
    """Which protocol resolves a reference."""

    ONE_PASSWORD = "1password"  # noqa: S105 - a protocol name
    COMMAND = "command"


@dataclass(frozen=True)
class Reference:
    """One reference: its kind and its target (`op://...`, or the command line)."""

    kind: Kind
    target: str

    def argv(self) -> list[str]:
        """The command run to resolve it (its standard output is the value)."""
        if self.kind is Kind.ONE_PASSWORD:
            return ["op", "read", "--no-newline", self.target]
        return ["sh", "-c", self.target]

    def program(self) -> str | None:
        """The program the reference runs (`op`, or the command's first word)."""
        if self.kind is Kind.ONE_PASSWORD:
            return "op"
        try:
            words = shlex.split(self.target)
        except ValueError:
            return None
        return words[0] if words else None

    def problem(self) -> str | None:
        """What is wrong with the reference as written (None when it is well formed)."""
        if self.kind is Kind.ONE_PASSWORD and not _OP_PATH.match(self.target):
            return f"{self.target} is not op://VAULT/ITEM/[SECTION/]FIELD"
        if self.kind is Kind.COMMAND:
            try:
                words = shlex.split(self.target)
            except ValueError as exc:
                return f"the command does not parse ({exc})"
            if not words:
                return "the command is empty"
        return None


def parse(raw_value: str) -> Reference | None:
    """The reference `raw_value` (the value as written) makes, or None for a plain value."""
    value = raw_value.strip()
    if match := _OP.match(value):
        return Reference(Kind.ONE_PASSWORD, match[1])
    if match := _COMMAND.match(value):
        return Reference(Kind.COMMAND, match[1].strip())
    return None


def is_reference(raw_value: str) -> bool:
    """True when `raw_value` is a reference rather than a value."""
    return parse(raw_value) is not None


def findings(key: str, line: int, reference: Reference, file: str) -> list[Finding]:
    """What `inv env.check` says about a reference, without resolving it: its form, that it
    stands for a secret, and that its program is installed here."""
    found = []
    problem = reference.problem()
    if problem:
        found.append(
            Finding(
                file,
                line,
                "invalid-reference",
                f"{key}: {problem}",
                "write ${op://VAULT/ITEM/FIELD} or $(COMMAND ARGS)",
            )
        )
    variable = BY_NAME.get(key)
    if variable is None or not variable.is_secret:
        found.append(
            Finding(
                file,
                line,
                "reference-not-secret",
                f"{key} is a reference, but only secrets may be references",
                f"write the value of {key} in the file",
            )
        )
    program = reference.program()
    if not problem and program and shutil.which(program) is None:
        found.append(
            Finding(
                file,
                line,
                "reference-tool-missing",
                f"{key}: its reference needs `{program}`, which is not installed here",
                "install it on the machine that deploys (the 1Password CLI is `op`)",
            )
        )
    return found
