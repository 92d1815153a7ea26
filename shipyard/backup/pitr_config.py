"""pgBackRest's configuration for point-in-time recovery, rendered from the env file.

The database container archives every WAL segment with `pgbackrest archive-push` and takes
base backups with `pgbackrest backup`; both read `/run/secrets/pgbackrest.conf`, a secret
file (mode 0400, owned by the db user, shipyard.secretfiles), so the store's credentials
and the repository's cipher pass are never in argv, the environment or `docker inspect`.

The repository lives in the backup bucket (BACKUP_S3_*), beside the logical dumps:
`<BACKUP_S3_PREFIX>/pgbackrest/<env>`, encrypted with `aes-256-cbc` under a pass derived
from the backup encryption key (BACKUP_ENCRYPTION_KEY_FILE). pgBackRest talks S3 over TLS
only; a plain-HTTP store (the in-stack object store of local and sandbox stacks, or
BACKUP_S3_SECURE=false) is reached through a TLS relay on the container's loopback
(`pgbackrest-relay`, in the db image), whose target is the second secret file,
`pgbackrest_relay`.

Pure: values in, text out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from shipyard.envfile.schema import BY_NAME, DEV

STANZA = "db"
"""The one stanza of each repository (the repository path names the environment)."""
CONFIG_PATH = "/run/secrets/pgbackrest.conf"
"""Where the db container reads the configuration (compose/compose.pitr.yaml)."""
PGDATA = "/var/lib/postgresql/data"
RELAY_PORT = 9443
"""The TLS relay's port on the db container's loopback."""
IN_STACK_ENDPOINT = "objectstore:9000"
DEFAULT_IO_TIMEOUT = 60
CIPHER = "aes-256-cbc"
_PASS_LABEL = b"shipyard pgbackrest repo1-cipher-pass v1"


@dataclass(frozen=True)
class PitrFiles:
    """The two secret files of the db container (empty when PITR has no store)."""

    config: str
    relay: str


def cipher_pass(key: bytes) -> str:
    """The repository's cipher pass: HMAC-SHA256 of a fixed label under the backup key, so
    the pass is as secret as the key and changes with it, and the key itself never leaves
    the host."""
    return hmac.new(key, _PASS_LABEL, hashlib.sha256).hexdigest()


def _value(values: Mapping[str, str], name: str) -> str:
    return values.get(name) or BY_NAME[name].default or ""


def repo_path(values: Mapping[str, str]) -> str:
    """`/<prefix>/pgbackrest/<env>`: beside the environment's logical dumps, never under
    `<prefix>/<env>/`, whose entries are the dumps' backup ids."""
    prefix = _value(values, "BACKUP_S3_PREFIX").strip("/")
    return f"/{prefix}/pgbackrest/{values.get('APP_ENV', 'local')}"


def store_endpoint(values: Mapping[str, str]) -> tuple[str, bool] | None:
    """(host:port, TLS) of the backup store as the db container reaches it; None when the
    environment has no store pgBackRest can use (staging or production without
    BACKUP_S3_ENDPOINT)."""
    endpoint = values.get("BACKUP_S3_ENDPOINT", "")
    if endpoint:
        return endpoint, _value(values, "BACKUP_S3_SECURE").lower() in {"1", "true", "yes", "on"}
    if values.get("APP_ENV", "local") in DEV:
        return IN_STACK_ENDPOINT, False
    return None


def render(
    values: Mapping[str, str], key: bytes | None, *, io_timeout: int = DEFAULT_IO_TIMEOUT
) -> PitrFiles:
    """pgbackrest.conf and the relay target for the env file's `values` and backup `key`."""
    store = store_endpoint(values)
    if store is None:
        return PitrFiles(config="", relay="")
    endpoint, secure = store
    host, _, port = endpoint.rpartition(":") if ":" in endpoint else (endpoint, "", "443")
    access = values.get("BACKUP_S3_ACCESS_KEY") or values.get("S3_ACCESS_KEY", "")
    secret = values.get("BACKUP_S3_SECRET_KEY") or values.get("S3_SECRET_KEY", "")
    region = (
        _value(values, "BACKUP_S3_REGION")
        if values.get("BACKUP_S3_ENDPOINT")
        else _value(values, "S3_REGION")
    )
    lines = [
        "[global]",
        "repo1-type=s3",
        f"repo1-path={repo_path(values)}",
        f"repo1-s3-bucket={_value(values, 'BACKUP_S3_BUCKET')}",
        f"repo1-s3-endpoint={host}",
        f"repo1-s3-region={region}",
        "repo1-s3-uri-style=path",
        f"repo1-s3-key={access}",
        f"repo1-s3-key-secret={secret}",
    ]
    if secure:
        lines.append(f"repo1-storage-port={port}")
    else:
        lines += [
            "repo1-storage-host=127.0.0.1",
            f"repo1-storage-port={RELAY_PORT}",
            "repo1-storage-verify-tls=n",
        ]
    if key is not None:
        lines += [f"repo1-cipher-type={CIPHER}", f"repo1-cipher-pass={cipher_pass(key)}"]
    lines += [
        f"io-timeout={io_timeout}",
        "compress-type=zst",
        "start-fast=y",
        "log-level-console=info",
        "log-level-file=off",
        "",
        f"[{STANZA}]",
        f"pg1-path={PGDATA}",
        "pg1-socket-path=/var/run/postgresql",
        f"pg1-user={values.get('POSTGRES_USER', 'postgres')}",
    ]
    return PitrFiles(config="\n".join(lines) + "\n", relay="" if secure else endpoint)
