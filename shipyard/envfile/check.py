"""`inv env.check` and deploy preflight: every check of one env file for one environment."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from shipyard.config import Environment
from shipyard.envfile.crosscheck import NGINX_TEMPLATES, crosscheck
from shipyard.envfile.findings import Finding, sort_key
from shipyard.envfile.lint import lint
from shipyard.envfile.load import interpolate, parse_env_text, read_text, register_secrets
from shipyard.envfile.resolve import referenced
from shipyard.envfile.rules import validate
from shipyard.envfile.schema import require_known_environment
from shipyard.errors import ConfigError


def check_env_file(
    path: Path, env: Environment, *, nginx_dir: Path = NGINX_TEMPLATES
) -> list[Finding]:
    """Every finding for `path` as the env file of `env`, ordered by file and line.

    The file is judged alone (never the process environment); its secrets are registered
    for masking before anything is returned. Unreadable files raise a ConfigError.
    """
    return _check(path, env, nginx_dir)[0]


def _check(
    path: Path, env: Environment, nginx_dir: Path, text: str | None = None
) -> tuple[list[Finding], dict[str, str]]:
    require_known_environment(env.name)
    text = read_text(path) if text is None else text
    parsed = parse_env_text(text)
    values = interpolate(parsed.entries)
    register_secrets(parsed, values)
    lines = {entry.key: entry.line for entry in parsed.entries if entry.value is not None}
    file = str(path)
    findings = lint(parsed, file)
    findings += validate(values, lines, env.name, file, referenced=referenced(text).keys())
    findings += crosscheck(values, lines, env, file, nginx_dir=nginx_dir)
    return sorted(findings, key=sort_key), values


def summary(findings: list[Finding], path: Path, env: str) -> str:
    """One line: how many problems of which kinds, or that the file is valid."""
    if not findings:
        return f"{path}: valid for {env}"
    counts = Counter(finding.check for finding in findings)
    kinds = ", ".join(f"{check} x{count}" for check, count in sorted(counts.items()))
    noun = "problem" if len(findings) == 1 else "problems"
    return f"{path}: {len(findings)} {noun} for {env} ({kinds})"


def require_valid_env_file(
    path: Path, env: Environment, *, nginx_dir: Path = NGINX_TEMPLATES
) -> dict[str, str]:
    """The file's values if it passes every check for `env`; else a one-line ConfigError.

    Deploy preflight and `inv setup` call this before anything changes.
    """
    return require_valid_env_text(read_text(path), path, env, nginx_dir=nginx_dir)


def require_valid_env_text(
    text: str, path: Path, env: Environment, *, nginx_dir: Path = NGINX_TEMPLATES
) -> dict[str, str]:
    """As require_valid_env_file, for the text of `path` as given (e.g. with its secret
    references resolved)."""
    findings, values = _check(path, env, nginx_dir, text)
    if findings:
        raise ConfigError(
            summary(findings, path, env.name),
            hint=f"see `inv env.check --env {env.name} --file {path}`",
        )
    return values
