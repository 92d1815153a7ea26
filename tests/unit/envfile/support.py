"""Helpers of the env-file tests (fixtures are in conftest.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shipyard.config import Environment

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIXTURES = HERE / "fixtures"
CORPUS = HERE / "corpus"
INV = Path(sys.executable).with_name("inv")
PUBLIC_URLS = {
    "local": "http://127.0.0.1:8080",
    "sandbox": "http://127.0.0.1:8081",
    "staging": "https://staging.example.com",
    "production": "https://docs.example.com",
}


@dataclass(frozen=True)
class Result:
    """What a task run printed and how it exited."""

    code: int
    out: str
    err: str


Runner = Callable[..., Result]


def environment(name: str, **overrides) -> Environment:
    """An environment with a fixed public URL and the fixture compose file."""
    fields = {
        "env_file": Path(f".env.{name}"),
        "public_url": PUBLIC_URLS[name],
        "compose_files": [FIXTURES / "compose.yaml"],
        "project": "shipyardtest",
        **overrides,
    }
    return Environment(name=name, **fields)


def secret_values(path: Path) -> list[str]:
    """Every secret value written in an env file (placeholders aside): what must not leak."""
    from shipyard.envfile.load import interpolate, parse_env_text
    from shipyard.envfile.schema import looks_secret
    from shipyard.envfile.secrets import is_placeholder

    parsed = parse_env_text(path.read_text(encoding="utf-8"))
    values = interpolate(parsed.entries)
    found = {
        value
        for entry in parsed.entries
        if looks_secret(entry.key)
        for value in (entry.raw_value, values.get(entry.key, ""))
        if len(value) >= 4 and not is_placeholder(value)
    }
    return sorted(found)
