"""The secrets the containers read as files, never as environment variables.

compose/compose.yaml mounts each one under /run/secrets (a file-based compose secret) and
points the service's `<NAME>_FILE` variable at it. This module says which env-file variable
goes to which service as which file, owned by which user, and writes them: locally under
.shipyard/secrets/, on a VM inside the release directory (shipyard.deploy.bundle).

Compose bind-mounts a file secret with the host file's owner and mode (it ignores `uid`,
`gid` and `mode` outside Swarm), so the owner is set on the host: each file belongs to the
uid its service runs as, mode 0400, in a directory only the deployer can enter.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.backup.pitr_config import render as render_pitr
from shipyard.oneoff import offline_sh_argv

SECRETS_DIR_VARIABLE = "SHIPYARD_SECRETS_DIR"
"""The compose variable naming the directory of the secret files (one subdirectory per
service)."""
DATA_SECRETS_DIR_VARIABLE = "SHIPYARD_DATA_SECRETS_DIR"
"""On a VM: the directory of the data services' secret files (default: SECRETS_DIR)."""
DATA_SERVICES = ("db", "objectstore", "pgbackrest")
"""Started once and never recreated by a deploy: on a VM their secret files live in
shared/secrets (copied there from the release that first starts them), since a release
directory is pruned while they still mount its files (and need them again on a restart)."""
FILE_MODE = 0o400
DIR_MODE = 0o700
SERVICE_USERS: Mapping[str, int] = {"app": 10001, "db": 999, "objectstore": 1000, "pgbackrest": 999}
"""The uid (and gid) each service runs as: compose.yaml's `user:` for app and db; the
object store stand-in's `minio` user (upstream MinIO runs as root, which reads any file).
`pgbackrest` holds the db container's WAL-archiving files (compose/compose.pitr.yaml)."""
PITR_SERVICE = "pgbackrest"


@dataclass(frozen=True)
class SecretFile:
    """One secret file: `<service>/<name>` holds the value of the env-file `variable`."""

    service: str
    name: str
    variable: str

    @property
    def path(self) -> str:
        """Relative to the secrets directory, e.g. `app/postgres_password`."""
        return posixpath.join(self.service, self.name)

    @property
    def compose_secret(self) -> str:
        """The top-level compose secret's name, e.g. `app_postgres_password`."""
        return f"{self.service}_{self.name}"

    @property
    def uid(self) -> int:
        """The owner of the file: the uid the service runs as."""
        return SERVICE_USERS[self.service]


SECRET_FILES: tuple[SecretFile, ...] = (
    SecretFile("app", "postgres_password", "POSTGRES_PASSWORD"),
    SecretFile("app", "s3_access_key", "S3_ACCESS_KEY"),
    SecretFile("app", "s3_secret_key", "S3_SECRET_KEY"),
    SecretFile("db", "postgres_password", "POSTGRES_PASSWORD"),
    SecretFile("objectstore", "s3_access_key", "S3_ACCESS_KEY"),
    SecretFile("objectstore", "s3_secret_key", "S3_SECRET_KEY"),
)
PITR_FILES: tuple[SecretFile, ...] = (
    SecretFile(PITR_SERVICE, "pgbackrest.conf", ""),
    SecretFile(PITR_SERVICE, "relay", ""),
)
"""The db container's WAL-archiving files, declared in compose/compose.pitr.yaml and
rendered from the BACKUP_S3_* values and the backup key (shipyard.backup.pitr_config)."""


def contents(values: Mapping[str, str], key: bytes | None = None) -> dict[SecretFile, bytes]:
    """Each secret file and its content (the variable's value, no line break; pgBackRest's
    files rendered from the values and the backup encryption `key`)."""
    pitr = render_pitr(values, key)
    rendered = dict(zip(PITR_FILES, (pitr.config, pitr.relay), strict=True))
    plain = {secret: values.get(secret.variable, "") for secret in SECRET_FILES}
    return {secret: text.encode() for secret, text in (plain | rendered).items()}


def fingerprint(values: Mapping[str, str], key: bytes | None = None) -> str:
    """12 hex digits that change whenever any secret file's content does (a directory
    name: compose recreates the containers whose secrets moved)."""
    digest = hashlib.sha256()
    for secret, content in sorted(contents(values, key).items(), key=lambda item: item[0].path):
        digest.update(f"{secret.path}\0{len(content)}\0".encode() + content)
    return digest.hexdigest()[:12]


def write_local(root: Path, values: Mapping[str, str], key: bytes | None = None) -> Path:
    """The secret files of `values` in `root/<fingerprint>/` (written when missing, complete
    or not at all); returns that directory.

    Run as root, each file belongs to its service's uid, mode 0400. Otherwise (a developer
    without root) the files are the developer's, mode 0444, so the containers' users can
    read them: the directories (0700) keep every other user of the machine out."""
    directory = root / fingerprint(values, key)
    if directory.is_dir():
        return directory
    root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    root.chmod(DIR_MODE)
    staging = root / f".tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    owned = os.geteuid() == 0
    for secret, content in contents(values, key).items():
        path = staging / secret.path
        path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        if owned:
            os.chown(path, secret.uid, secret.uid)
        path.chmod(FILE_MODE if owned else 0o444)
    staging.rename(directory)
    return directory


MOUNTS_FORMAT = (
    '{{index .Config.Labels "com.docker.compose.service"}}{{range .Mounts}} {{.Source}}{{end}}'
)
"""`docker inspect --format` of a container: its compose service, then every mount's source."""


def stale_services(inspected: str, root: Path, current: Path) -> list[str]:
    """The services (from MOUNTS_FORMAT lines) whose containers mount secret files from a
    directory under `root` other than `current`. Compose does not recreate them by itself:
    its config hash names a secret, not the file behind it."""
    stale: list[str] = []
    for line in inspected.splitlines():
        if not line.strip():
            continue
        service, *sources = line.split()
        for source in map(Path, sources):
            moved = source.is_relative_to(root) and not source.is_relative_to(current)
            if moved and service not in stale:
                stale.append(service)
    return stale


def prune_local(root: Path, keep: Path) -> None:
    """Remove every secrets directory under `root` but `keep` (once the containers that
    mounted the others are gone)."""
    if root.is_dir():
        for other in root.iterdir():
            if other != keep:
                shutil.rmtree(other, ignore_errors=True)


def own_argv(directory: str, shared: str, image: str) -> list[str]:
    """On a VM whose deploy user is not root: give each secret file under `directory` to its
    service's uid (mode 0400), and copy the data services' directories to `shared`/secrets
    when they are not there yet (pgBackRest's files: every time), from a one-off container
    of `image` (any image with `sh`, `chown`, `chmod` and `cp`; the deploy uses the app
    image it just shipped). No network."""
    commands = [
        f"chown {secret.uid}:{secret.uid} /secrets/{secret.path}"
        for secret in (*SECRET_FILES, *PITR_FILES)
    ]
    commands += [f"chmod {FILE_MODE:o} /secrets/*/*", "mkdir -p -m 0700 /shared/secrets"]
    commands += [
        f"{{ [ -d /shared/secrets/{service} ] || cp -a /secrets/{service} /shared/secrets/; }}"
        for service in DATA_SERVICES
        if service != PITR_SERVICE
    ]
    # pgBackRest reads its files at every archive-push: they follow the env file at every
    # deploy (a rotated store key, a new BACKUP_S3_*), written in place so the db
    # container's bind mounts see them
    commands += [
        f"mkdir -p -m 0700 /shared/secrets/{PITR_SERVICE}",
        f"cp -a /secrets/{PITR_SERVICE}/. /shared/secrets/{PITR_SERVICE}/",
    ]
    return offline_sh_argv(
        image,
        " && ".join(commands),
        volumes=[f"{directory}:/secrets", f"{shared}:/shared"],
        user="0:0",
    )
