"""A finding: one problem in one file, at one line, with the check that found it and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One problem. `line` is None when it concerns the file as a whole (a missing key).

    Messages name variables and line numbers, never the value of a secret.
    """

    file: str
    line: int | None
    check: str
    message: str
    fix: str

    def one_line(self) -> str:
        """`FILE:LINE: check-id: message (fix: ...)`."""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.check}: {self.message} (fix: {self.fix})"

    def to_dict(self) -> dict[str, Any]:
        """The finding as a JSON-ready mapping."""
        return asdict(self)


def sort_key(finding: Finding) -> tuple[str, int, str]:
    """Order findings by file, then line (whole-file findings first), then check."""
    return (finding.file, finding.line or 0, finding.check)
