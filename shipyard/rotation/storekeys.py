"""The object store's side of a key rotation: the `objectstore-keys` commands of the
in-stack stand-in (keys on standard input, never a command line), how their answers are
judged, the one-off container that rewrites a VM's store key files, and the interface of
a place whose store keys are rotated (the local stack or a VM:
shipyard.rotation.storetargets).

A key is a pair (access key id, secret key) and is rotated as one: the store accepts the
new pair beside the old one, the app moves onto it, then the old pair is removed.
"""

from __future__ import annotations

from shipyard import masking
from shipyard.errors import CommandFailedError, ConfigError, RefusedError
from shipyard.oneoff import offline_sh_argv
from shipyard.remote import CommandResult
from shipyard.secretfiles import FILE_MODE, SERVICE_USERS

KEY_NAMES = ("S3_ACCESS_KEY", "S3_SECRET_KEY")
"""The env-file pair the app signs its S3 requests with: the in-stack store's root key."""
KEYS_COMMAND = "objectstore-keys"
IN_STACK_HOST = "objectstore"
MISSING_COMMAND_EXITS = (126, 127)
"""`docker exec` / `docker compose exec` when the image has no such executable."""

MINIO_STEPS = (
    "upstream MinIO reads its root key only when it starts. Without downtime, give the app"
    " a key of its own: `mc admin user svcacct add local ROOT_USER` (prints a new access"
    " and secret key), put them in S3_ACCESS_KEY / S3_SECRET_KEY (and MINIO_ROOT_USER /"
    " MINIO_ROOT_PASSWORD stay the old ones in the store's environment), `inv deploy`, then"
    " `mc admin user svcacct rm local OLD_ACCESS_KEY`; or, in a maintenance window, edit the"
    " env file, recreate the objectstore container and deploy (docs/configuration.md,"
    " Rotating a secret)"
)


def is_in_stack(endpoint: str) -> bool:
    """Whether S3_ENDPOINT is the stack's own object store (`objectstore:PORT`)."""
    return endpoint.rpartition(":")[0] == IN_STACK_HOST


def require_in_stack(endpoint: str) -> None:
    """ConfigError (exit 2) for an external bucket: its keys are the provider's to change."""
    if not is_in_stack(endpoint):
        raise ConfigError(
            f"S3_ENDPOINT is {endpoint}, not the in-stack object store: its keys are made"
            " by that provider",
            hint="create a new key at the provider, put it in the env file, `inv deploy`,"
            " then delete the old key there",
        )


def keys_command(action: str) -> list[str]:
    """`objectstore-keys check|add|remove` (run inside the object store's container)."""
    if action not in ("check", "add", "remove"):
        raise ValueError(f"unknown objectstore-keys action {action!r}")
    return [KEYS_COMMAND, action]


def key_stdin(access_key: str, secret_key: str | None = None) -> bytes:
    """The key as `objectstore-keys` reads it: one line each (remove takes the id only)."""
    lines = [access_key] if secret_key is None else [access_key, secret_key]
    return "".join(f"{line}\n" for line in lines).encode()


def store_unsupported(exit_code: int, stderr: str) -> bool:
    """Whether the container has no `objectstore-keys` (upstream MinIO, or a stand-in
    container started from an image older than this rotation)."""
    return exit_code in MISSING_COMMAND_EXITS or "executable file not found" in stderr


def refusal() -> RefusedError:
    """Exit 3: the running store cannot hold two keys, so a rotation would lock the app
    out or restart the store; what to do instead."""
    return RefusedError(
        f"the object store container has no `{KEYS_COMMAND}`: it cannot accept a second key"
        " beside the one the app uses, so the keys were not rotated (nothing was changed)",
        hint=f"the stand-in image: recreate the objectstore container from the current one"
        f" (`docker compose up -d --force-recreate objectstore`: seconds of failed uploads);"
        f" {MINIO_STEPS}",
    )


def judge_check(exit_code: int, stdout: str, stderr: str) -> None:
    """Go on when the store accepts the env file's current key; refuse when it cannot
    rotate; ConfigError when the key is not accepted (nothing is changed then)."""
    if exit_code == 0:
        return
    if store_unsupported(exit_code, stderr):
        raise refusal()
    if exit_code == 1 and "the key is refused" in stdout:
        raise ConfigError(
            "the object store does not accept S3_ACCESS_KEY / S3_SECRET_KEY of the env file"
            " now; nothing was changed",
            hint="rotation starts from the key the store has: restore it in the env file"
            " first (`inv logs --service objectstore`)",
        )
    reason = _last_line(stderr or stdout, exit_code)
    raise CommandFailedError(f"{KEYS_COMMAND} check failed: {reason}")


def judge_change(action: str, exit_code: int, stderr: str) -> None:
    """CommandFailedError with the store's own words unless `add`/`remove` took effect."""
    if exit_code == 0:
        return
    if store_unsupported(exit_code, stderr):
        raise refusal()
    raise CommandFailedError(f"{KEYS_COMMAND} {action} failed: {_last_line(stderr, exit_code)}")


def _last_line(stderr: str, exit_code: int) -> str:
    reason = (stderr.strip().splitlines() or [f"exited {exit_code}"])[-1]
    return masking.mask(reason)


STORE_FILES_SCRIPT = (
    "set -e; IFS= read -r access; IFS= read -r secret; cd /keys; umask 0377; "
    'printf %s "$access" > .s3_access_key.new; printf %s "$secret" > .s3_secret_key.new; '
    "chown {uid}:{uid} .s3_access_key.new .s3_secret_key.new; "
    "chmod {mode:o} .s3_access_key.new .s3_secret_key.new; "
    "mv -f .s3_access_key.new s3_access_key; mv -f .s3_secret_key.new s3_secret_key"
)


def store_files_argv(image: str, directory: str) -> list[str]:
    """A one-off root container of `image` (no network) that replaces the store's key files
    in `directory` (a VM's shared/secrets/objectstore) with the two lines on its standard
    input, owned by the store's user, mode 0400, each renamed into place (a restart of the
    store then starts from the new key; the running container keeps the files it has)."""
    script = STORE_FILES_SCRIPT.format(uid=SERVICE_USERS["objectstore"], mode=FILE_MODE)
    return offline_sh_argv(
        image, script, volumes=[f"{directory}:/keys"], user="0:0", interactive=True
    )


class ObjectStore:
    """Where a rotation changes the store's keys and how the app moves onto them."""

    def run_keys(self, action: str, stdin: bytes) -> CommandResult:
        """Run the store's `objectstore-keys ACTION` with the keys on its standard input."""
        raise NotImplementedError

    def check(self, access_key: str, secret_key: str) -> None:
        """Raise unless the store accepts this key now and can take a second one."""
        result = self.run_keys("check", key_stdin(access_key, secret_key))
        judge_check(result.exit_code, result.stdout, result.stderr)

    def add(self, access_key: str, secret_key: str) -> None:
        """The store accepts this key beside the ones it has (reloaded, not restarted;
        CommandFailedError if not)."""
        result = self.run_keys("add", key_stdin(access_key, secret_key))
        judge_change("add", result.exit_code, result.stderr)

    def remove(self, access_key: str) -> None:
        """The store refuses this access key from now on."""
        result = self.run_keys("remove", key_stdin(access_key))
        judge_change("remove", result.exit_code, result.stderr)

    def save_key_files(self, access_key: str, secret_key: str) -> None:
        """Make a restart of the store start from this key (where that is not `roll_app`)."""
        raise NotImplementedError

    def roll_app(self) -> str | None:
        """Move the app onto the env file as it is now; the release it runs, if any."""
        raise NotImplementedError

    restores_on_failure: bool = True
    """Whether the env file is put back when roll_app fails (False where the roll already
    recreated the store from the new key: locally)."""
