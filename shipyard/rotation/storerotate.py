"""`inv secrets.rotate --name S3_SECRET_KEY` (or S3_ACCESS_KEY): a new key pair for the
app's object store requests, accepted by the in-stack store beside the old one before
anything uses it, and the old one removed only once the app runs on the new one.

Order, so that no step can lock the app out:
1. the store must accept the env file's current key and be able to hold a second one
   (else nothing is changed: upstream MinIO is refused with the manual steps);
2. the store accepts a new random pair beside the old (SeaweedFS reloads its identity
   file on SIGHUP: no restart, requests in flight carry on);
3. the env file gets the new pair (atomically, mode 0600), the old text kept in memory;
   on a VM the store's key files in shared/secrets too (for its next start);
4. the app moves onto the new pair: on a VM a zero-downtime deploy of the serving image,
   whose gate waits for the new container's /ready (a signed request to the bucket with
   the new key); locally the stack is recreated from the new secret files;
5. the store refuses the old pair (and the shim checks that it does).
A failure in 2-4 on a VM puts the env file and the key files back and removes the new
pair: the old one never stopped working. A failure in 5 leaves both accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from shipyard import console, masking
from shipyard.config import ShipyardConfig
from shipyard.deploy.orchestration import approved
from shipyard.envfile.check import require_valid_env_file
from shipyard.envfile.load import parse_env_text, read_text
from shipyard.envfile.references import is_reference
from shipyard.envfile.schema import BY_NAME
from shipyard.envfile.secrets import generate
from shipyard.errors import CommandFailedError, ConfigError, ShipyardError
from shipyard.rotation.envwrite import RotationOutcome, with_value, write_private
from shipyard.rotation.storekeys import KEY_NAMES, ObjectStore, require_in_stack
from shipyard.rotation.storetargets import LocalObjectStore, VmObjectStore

ACCESS, SECRET = KEY_NAMES


def with_key(text: str, access_key: str, secret_key: str) -> str:
    """`text` with S3_ACCESS_KEY and S3_SECRET_KEY replaced, every other line kept."""
    return with_value(with_value(text, ACCESS, access_key), SECRET, secret_key)


def plan_lines(env_name: str, env_file: str, is_local: bool) -> list[str]:
    """The steps a rotation of the store's key takes, as --dry-run prints them."""
    steps = [
        f"check that the object store of {env_name} accepts {ACCESS} / {SECRET} of"
        f" {env_file} and can hold a second key",
        "the store accepts a new random key beside the old one (reloaded, not restarted)",
        f"write the new {ACCESS} and {SECRET} to {env_file} (mode 0600)"
        + ("" if is_local else " and to the store's key files in shared/secrets"),
        "roll the app onto it: "
        + (
            "the local stack recreated from the new secret files"
            if is_local
            else "a zero-downtime deploy of the serving image"
        ),
        "the store refuses the old key",
    ]
    lines = [f"Rotate the object store key ({ACCESS} and {SECRET}) of {env_name}:"]
    return lines + [f"  {number}. {step}" for number, step in enumerate(steps, start=1)]


def rotate_store_key(
    config: ShipyardConfig, env_name: str, *, dry_run: bool, yes: bool
) -> RotationOutcome | None:
    """Rotate the app's object store key pair in `env_name` (None for --dry-run)."""
    env = config.environment(env_name)
    path = env.path(env.env_file)
    text = read_text(path)
    raw = {entry.key: entry.raw_value for entry in parse_env_text(text).entries}
    for name in KEY_NAMES:
        if is_reference(raw.get(name, "")):
            raise ConfigError(
                f"{name} in {path.name} is a reference to a secret store, not a value",
                hint="change it in that store and in the object store, then deploy",
            )
    values = require_valid_env_file(path, env)
    require_in_stack(values.get("S3_ENDPOINT") or BY_NAME["S3_ENDPOINT"].default or "")
    lines = plan_lines(env.name, path.name, env.is_local)
    if not approved(
        env, lines, f"Rotate the object store key of {env.name}?", yes=yes, dry_run=dry_run
    ):
        return None
    store: ObjectStore = (
        LocalObjectStore(config, env) if env.is_local else VmObjectStore(config, env)
    )
    release = rotate_with(store, path, text, values)
    return RotationOutcome(env=env.name, name=SECRET, env_file=str(path), release=release)


def rotate_with(store: ObjectStore, path: Path, text: str, values: Mapping[str, str]) -> str | None:
    """Steps 1-5 of the module's order against `store`, for the env file at `path` (its
    text and values as read); the release the app then runs, if any."""
    old_access, old_secret = values[ACCESS], values[SECRET]
    store.check(old_access, old_secret)
    new_access, new_secret = generate(BY_NAME[ACCESS]), generate(BY_NAME[SECRET])
    masking.register(new_access)
    masking.register(new_secret)
    try:
        store.add(new_access, new_secret)
    except BaseException:
        _forget(store, new_access)
        raise
    console.done("the object store accepts a new key beside the old one")
    write_private(path, with_key(text, new_access, new_secret))
    console.done(f"wrote the new {ACCESS} and {SECRET} to {path.name}")
    try:
        store.save_key_files(new_access, new_secret)
        release = store.roll_app()
    except BaseException:
        if store.restores_on_failure:
            write_private(path, text)
            try:
                store.save_key_files(old_access, old_secret)
            except ShipyardError as exc:
                console.warn(f"the store's key files may hold the new key: {exc}")
            _forget(store, new_access)
            console.warn(f"put {path.name} back: the app and the store keep the old key")
        else:
            console.warn(
                f"{path.name} has the new key, which the store accepts (it may have been"
                " recreated from it already): run `inv up` once the cause is fixed"
            )
        raise
    console.done("the app runs on the new key")
    try:
        store.remove(old_access)
    except CommandFailedError as exc:
        raise CommandFailedError(
            f"the app runs on the new key, but the store still accepts the old one: {exc}",
            hint="the old key goes when the objectstore container next restarts (it starts"
            " from the new key files); or run `inv secrets.rotate` again",
        ) from exc
    console.done("the object store refuses the old key")
    return release


def _forget(store: ObjectStore, access_key: str) -> None:
    """Remove a key that is not in use, warning (not raising) when that fails."""
    try:
        store.remove(access_key)
    except ShipyardError as exc:
        console.warn(f"the store may still accept the unused new key: {exc}")
