"""`inv secrets.rotate`: a new database password, changed where it is checked (the
PostgreSQL role), written to the env file, and the app rolled onto it.

Order, so that no step can lock the app out:
1. the env file's current password must open the database (else nothing is changed);
2. the env file gets the new password (atomically, mode 0600), the old text kept in memory;
3. `ALTER ROLE ... PASSWORD` in the database container, the statement on psql's standard
   input (never a command line); if it fails, the env file is put back;
4. the app moves onto the new password: on a VM, a deploy of the serving image (new app
   container beside the old, the gate, the switch: zero downtime; the old container keeps
   its open database sessions, which a password change does not end); locally, the stack
   is recreated from the new secret files.

The object store's key pair (S3_ACCESS_KEY / S3_SECRET_KEY) is rotated in its own order,
new key beside the old first: shipyard.rotation.storerotate.
"""

from __future__ import annotations

from shipyard import console, masking
from shipyard.config import ShipyardConfig
from shipyard.deploy.orchestration import approved
from shipyard.envfile.check import require_valid_env_file
from shipyard.envfile.load import parse_env_text, read_text
from shipyard.envfile.references import is_reference
from shipyard.envfile.schema import BY_NAME
from shipyard.envfile.secrets import generate
from shipyard.errors import ConfigError
from shipyard.rotation.envwrite import RotationOutcome, with_value, write_private
from shipyard.rotation.role import Database
from shipyard.rotation.storekeys import KEY_NAMES
from shipyard.rotation.storerotate import rotate_store_key
from shipyard.rotation.targets import LocalDatabase, VmDatabase

ROTATABLE = ("POSTGRES_PASSWORD", *KEY_NAMES)
__all__ = ["RotationOutcome", "require_rotatable", "rotate", "with_value", "write_private"]


def require_rotatable(name: str) -> None:
    """ConfigError (exit 2) for a variable `inv secrets.rotate` cannot change, saying why."""
    if name in ROTATABLE:
        return
    raise ConfigError(
        f"{name}: `inv secrets.rotate` changes {', '.join(ROTATABLE)}",
        hint="other secrets are changed in the env file, then deployed",
    )


def rotate(
    config: ShipyardConfig, env_name: str, name: str, *, dry_run: bool, yes: bool
) -> RotationOutcome | None:
    """Rotate `name` in environment `env_name` (None for --dry-run); either name of the
    object store's key pair rotates the pair."""
    require_rotatable(name)
    if name in KEY_NAMES:
        return rotate_store_key(config, env_name, dry_run=dry_run, yes=yes)
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
        + (
            "the local stack recreated from the new secret files"
            if env.is_local
            else "a zero-downtime deploy of the serving image"
        ),
    ]
    lines = [f"Rotate {name} of {env.name}:"]
    lines += [f"  {number}. {step}" for number, step in enumerate(steps, start=1)]
    if not approved(env, lines, f"Rotate {name} of {env.name}?", yes=yes, dry_run=dry_run):
        return None
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
