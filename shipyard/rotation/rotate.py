"""`inv secrets.rotate`: a new database password, changed where it is checked (the
PostgreSQL role), written to the env file, and the app rolled onto it.

Order, so that no step can lock the app out:
1. the env file's current password must open the database (else nothing is changed);
2. the env file gets the new password (atomically, mode 0600), the old text kept in memory;
3. `ALTER ROLE ... PASSWORD` in the database container, the statement on psql's standard
   input (never a command line); if it fails, the env file is put back;
4. the app moves onto the new password: on a VM, a deploy of the serving image (new app
   container beside the old, the gate, the switch: zero downtime; the old container keeps
   its open database sessions, which a password change does not end); locally, `inv up`.

The object store's keys are not rotated here: S3_ACCESS_KEY / S3_SECRET_KEY are the in-stack
store's root credentials, which MinIO reads only when it starts (changing them restarts the
store, and every object request fails meanwhile), and the stand-in has no user API to add a
second key before retiring the first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shipyard import console, masking
from shipyard.config import ShipyardConfig
from shipyard.deploy.orchestration import require_approval
from shipyard.envfile.check import require_valid_env_file
from shipyard.envfile.load import parse_env_text, read_text
from shipyard.envfile.references import is_reference
from shipyard.envfile.render import format_assignment
from shipyard.envfile.schema import BY_NAME
from shipyard.envfile.secrets import generate
from shipyard.errors import ConfigError
from shipyard.rotation.role import Database
from shipyard.rotation.targets import LocalDatabase, VmDatabase

ROTATABLE = ("POSTGRES_PASSWORD",)
OBJECT_STORE_KEYS = ("S3_ACCESS_KEY", "S3_SECRET_KEY")


@dataclass(frozen=True)
class RotationOutcome:
    """What a rotation did (never the value)."""

    env: str
    name: str
    env_file: str
    release: str | None
    """The release the app now runs (a VM), None locally."""


def require_rotatable(name: str) -> None:
    """ConfigError (exit 2) for a variable `inv secrets.rotate` cannot change, saying why."""
    if name in ROTATABLE:
        return
    if name in OBJECT_STORE_KEYS:
        raise ConfigError(
            f"{name} cannot be rotated without downtime: it is the in-stack object store's"
            " root credential, read only when the store starts (a change restarts it), and"
            " the store has no user API to add a second key first",
            hint="change it in a maintenance window: edit the env file, recreate the"
            " objectstore, then deploy; docs/configuration.md, Rotating a secret",
        )
    raise ConfigError(
        f"{name}: `inv secrets.rotate` changes {', '.join(ROTATABLE)}",
        hint="other secrets are changed in the env file, then deployed",
    )


def with_value(text: str, name: str, value: str) -> str:
    """`text` with the statement that sets `name` replaced by `name=value` (quoted when the
    value needs it); every other line is kept as written. ConfigError when the file does
    not set `name`."""
    parsed = parse_env_text(text)
    entries = [entry for entry in parsed.entries if entry.key == name]
    if not entries:
        raise ConfigError(f"the env file does not set {name}")
    entry = entries[-1]
    line = format_assignment(name, value)
    lines = [*parsed.lines[: entry.line - 1], line, *parsed.lines[entry.end_line :]]
    return "\n".join(lines)


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (a temporary file renamed over it), mode 0600."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.rename(path)


def rotate(
    config: ShipyardConfig, env_name: str, name: str, *, dry_run: bool, yes: bool
) -> RotationOutcome | None:
    """Rotate `name` in environment `env_name` (None for --dry-run)."""
    require_rotatable(name)
    env = config.environment(env_name)
    path = env.path(env.env_file)
    text = read_text(path)
    raw = {entry.key: entry.raw_value for entry in parse_env_text(text).entries}
    if is_reference(raw.get(name, "")):
        raise ConfigError(
            f"{name} in {path.name} is a reference to a secret store, not a value",
            hint="change it in that store and with ALTER ROLE, then deploy",
        )
    values = require_valid_env_file(path, env)
    steps = [
        f"check that {name} in {path.name} opens the database of {env.name}",
        f"write a new random {name} to {path.name} (mode 0600)",
        f"ALTER ROLE {values['POSTGRES_USER']} in the database (the statement on stdin)",
        "roll the app onto it: "
        + ("`inv up`" if env.is_local else "a zero-downtime deploy of the serving image"),
    ]
    lines = [f"Rotate {name} of {env.name}:"]
    lines += [f"  {number}. {step}" for number, step in enumerate(steps, start=1)]
    if dry_run:
        for line in lines:
            console.say(line)
        console.result("dry run: nothing was changed")
        return None

    require_approval(env, yes, lines, f"Rotate {name} of {env.name}?")
    database: Database = LocalDatabase(config, env) if env.is_local else VmDatabase(config, env)
    database.require_login(values)
    new = generate(BY_NAME[name])
    masking.register(new)
    write_private(path, with_value(text, name, new))
    console.done(f"wrote a new {name} to {path.name}")
    try:
        database.alter_role(values, new)
    except BaseException:
        write_private(path, text)
        console.warn(f"put {path.name} back: the database kept its password")
        raise
    console.done(f"the database role {values['POSTGRES_USER']} has the new password")
    release = database.roll_app()
    return RotationOutcome(env=env.name, name=name, env_file=str(path), release=release)
