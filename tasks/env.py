"""Env files: `inv env.check`, `inv env.init`, `inv env.diff`, `inv env.example`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Context, task

from shipyard import console

if TYPE_CHECKING:
    from shipyard.config import Environment

LOCAL = "local"


def _environment(c: Context, name: str) -> Environment:
    """The environment from Invoke's config, or from invoke.yaml when run from elsewhere."""
    from shipyard.config import load_environment

    return load_environment(name, c.config if "shipyard" in c.config else None)


def _env_file(c: Context, name: str, file: str | None) -> tuple[Environment, Path]:
    environment = _environment(c, name)
    return environment, Path(file) if file else environment.path(environment.env_file)


@task(
    help={
        "env": "target environment (default: local)",
        "file": "env file to check (default: the environment's env_file)",
        "json": "print one JSON document",
    }
)
@console.exits_cleanly
def check(c, env=LOCAL, file=None, json=False):
    """Lint and validate an env file for an environment; exit 2 when anything is wrong."""
    from shipyard.envfile.check import check_env_file, summary
    from shipyard.errors import ConfigError

    environment, path = _env_file(c, env, file)
    findings = check_env_file(path, environment)
    text = summary(findings, path, env)
    if json:
        console.emit_json(
            {
                "file": str(path),
                "environment": env,
                "ok": not findings,
                "findings": [finding.to_dict() for finding in findings],
                "summary": text,
            }
        )
    else:
        for finding in findings:
            console.say(finding.one_line())
    if findings:
        raise ConfigError(text, hint="fix the lines above, then run this again")
    if not json:
        console.result(text)


@task(
    help={
        "env": "environment the file is for (default: local)",
        "file": "where to write (default: the environment's env_file)",
        "dry_run": "say what would be written, write nothing",
    }
)
@console.exits_cleanly
def init(c, env=LOCAL, file=None, dry_run=False):
    """Write a new env file with fresh secrets (mode 0600); never overwrites one."""
    from shipyard.envfile.init import new_env_text, write_new_env_file

    environment, path = _env_file(c, env, file)
    text = new_env_text(env, public_url=environment.public_url)
    if dry_run:
        console.result(f"dry run: would write {path} (mode 0600) with fresh secrets for {env}")
        return
    write_new_env_file(path, text)
    console.result(f"wrote {path} (mode 0600) with fresh secrets for {env}")
    console.say(f"Check it with `inv env.check --env {env} --file {path}`.")


@task(
    help={
        "a": "an env file, or an environment name (its env_file)",
        "b": "an env file, or an environment name (its env_file)",
        "json": "print one JSON document",
    }
)
@console.exits_cleanly
def diff(c, a, b, json=False):
    """Keys one env file sets and the other does not, and values that differ (masked)."""
    from shipyard.envfile.diff import diff_env_files

    result = diff_env_files(_file_or_environment(c, a), _file_or_environment(c, b))
    if json:
        console.emit_json(result.to_dict())
        return
    for key in result.only_in_a:
        console.say(f"only in {result.a}: {key}")
    for key in result.only_in_b:
        console.say(f"only in {result.b}: {key}")
    for key, left, right in result.changed:
        console.say(f"differs: {key}: {left} -> {right}")
    if result.same_keys:
        console.result(f"{result.a} and {result.b} set the same keys")
    else:
        total = len(result.only_in_a) + len(result.only_in_b)
        console.say(f"{total} key(s) set in only one of the two files")


def _file_or_environment(c: Context, name: str) -> Path:
    path = Path(name)
    if path.exists():
        return path
    from shipyard.config import load_config

    config = load_config(c.config if "shipyard" in c.config else None)
    if name in config.environments:
        environment = config.environment(name)
        return environment.path(environment.env_file)
    return path


@task(help={"check": "only report whether the files are up to date (exit 2 if not)"})
@console.exits_cleanly
def example(c, check=False):
    """Regenerate .env.example and the variable reference in docs/configuration.md."""
    from shipyard.envfile.generated import stale_files, write_generated_files
    from shipyard.errors import ConfigError

    if check:
        stale = stale_files()
        if stale:
            raise ConfigError(
                f"out of date with the schema: {', '.join(stale)}", hint="run `inv env.example`"
            )
        console.result(".env.example and docs/configuration.md match the schema")
        return
    for name in write_generated_files():
        console.result(f"wrote {name}")
