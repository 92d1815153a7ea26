"""Two env files side by side: which keys only one has, which values differ (masked)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.envfile.load import read_env_file
from shipyard.envfile.schema import looks_secret
from shipyard.masking import MASK


@dataclass(frozen=True)
class EnvDiff:
    """The keys of two files compared; `changed` holds (key, shown A value, shown B value)."""

    a: str
    b: str
    only_in_a: list[str]
    only_in_b: list[str]
    changed: list[tuple[str, str, str]]

    @property
    def same_keys(self) -> bool:
        """True when both files set the same keys."""
        return not self.only_in_a and not self.only_in_b

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "a": self.a,
            "b": self.b,
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "changed": [{"key": key, "a": a, "b": b} for key, a, b in self.changed],
        }


def shown(key: str, value: str) -> str:
    """A value as it may be printed: secrets (and secret-sounding keys) are masked."""
    return MASK if looks_secret(key) else value


def diff_env_files(a: Path, b: Path) -> EnvDiff:
    """Compare two env files, each read alone."""
    left, right = read_env_file(a), read_env_file(b)
    changed = [
        (key, shown(key, left[key]), shown(key, right[key]))
        for key in sorted(left.keys() & right.keys())
        if left[key] != right[key]
    ]
    return EnvDiff(
        a=str(a),
        b=str(b),
        only_in_a=sorted(left.keys() - right.keys()),
        only_in_b=sorted(right.keys() - left.keys()),
        changed=changed,
    )
