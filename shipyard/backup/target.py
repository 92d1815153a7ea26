"""Where backups go and where the app's objects are, from the env file's values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.backup.crypto import load_key
from shipyard.envfile.schema import BY_NAME, DEV
from shipyard.errors import ConfigError

IN_STACK_HOST = "objectstore"
IN_STACK_BACKUP_ENVS = DEV
"""Environments whose backups may go to their own object store (no BACKUP_S3_ENDPOINT)."""


@dataclass(frozen=True)
class S3Location:
    """One bucket on one S3-compatible endpoint, with its credentials (never printed)."""

    endpoint: str
    bucket: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    secure: bool = False

    @property
    def url(self) -> str:
        """The endpoint as a URL, for messages."""
        return f"{'https' if self.secure else 'http'}://{self.endpoint}/{self.bucket}"


@dataclass(frozen=True)
class BackupTarget:
    """The backup store of one environment: bucket, key prefix, optional encryption key."""

    location: S3Location
    prefix: str
    env: str
    key_file: Path | None = None

    @property
    def base(self) -> str:
        """Every key of this environment's backups starts with this (no trailing slash)."""
        return f"{self.prefix.strip('/')}/{self.env}"


def _value(values: Mapping[str, str], name: str) -> str:
    """The file's value, else the schema's default, else empty."""
    return values.get(name) or BY_NAME[name].default or ""


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def uses_in_stack_store(values: Mapping[str, str]) -> bool:
    """True when the app's objects live in the stack's own object store."""
    return _value(values, "S3_ENDPOINT").rsplit(":", 1)[0] == IN_STACK_HOST


def app_store(values: Mapping[str, str], ops_endpoint: str | None) -> S3Location:
    """The app's bucket as seen from the host: the in-stack store through its loopback port
    (`ops_endpoint`, from `docker compose port`), or the external endpoint the app uses."""
    endpoint = _value(values, "S3_ENDPOINT")
    secure = _bool(_value(values, "S3_SECURE"))
    if uses_in_stack_store(values):
        if ops_endpoint is None:
            raise ConfigError(
                "the object store's S3 port is not published on this host",
                hint="start the stack (`inv up`); compose publishes it on 127.0.0.1",
            )
        endpoint, secure = ops_endpoint, False
    return S3Location(
        endpoint=endpoint,
        bucket=_value(values, "S3_BUCKET"),
        access_key=values.get("S3_ACCESS_KEY", ""),
        secret_key=values.get("S3_SECRET_KEY", ""),
        region=_value(values, "S3_REGION"),
        secure=secure,
    )


def backup_target(
    values: Mapping[str, str], env: str, env_file: Path, ops_endpoint: str | None
) -> BackupTarget:
    """The backup store for `env`. Without BACKUP_S3_ENDPOINT (allowed in local and sandbox
    only) backups go to the in-stack object store, bucket BACKUP_S3_BUCKET."""
    endpoint = values.get("BACKUP_S3_ENDPOINT", "")
    if endpoint:
        location = S3Location(
            endpoint=endpoint,
            bucket=_value(values, "BACKUP_S3_BUCKET"),
            access_key=values.get("BACKUP_S3_ACCESS_KEY", ""),
            secret_key=values.get("BACKUP_S3_SECRET_KEY", ""),
            region=_value(values, "BACKUP_S3_REGION"),
            secure=_bool(_value(values, "BACKUP_S3_SECURE")),
        )
        if not (location.access_key and location.secret_key):
            raise ConfigError(
                f"{env_file}: BACKUP_S3_ENDPOINT is set but BACKUP_S3_ACCESS_KEY or"
                " BACKUP_S3_SECRET_KEY is not",
                hint="set both credentials of the backup bucket in the env file",
            )
    else:
        if env not in IN_STACK_BACKUP_ENVS:
            raise ConfigError(
                f"{env_file}: BACKUP_S3_ENDPOINT is not set",
                hint="backups of staging and production go to remote S3 storage; see"
                " docs/backups.md",
            )
        app = app_store(values, ops_endpoint)
        location = S3Location(
            endpoint=app.endpoint,
            bucket=_value(values, "BACKUP_S3_BUCKET"),
            access_key=values.get("BACKUP_S3_ACCESS_KEY") or app.access_key,
            secret_key=values.get("BACKUP_S3_SECRET_KEY") or app.secret_key,
            region=app.region,
            secure=app.secure,
        )
    key_file = values.get("BACKUP_ENCRYPTION_KEY_FILE") or None
    return BackupTarget(
        location=location,
        prefix=_value(values, "BACKUP_S3_PREFIX"),
        env=env,
        key_file=_beside(env_file, key_file) if key_file else None,
    )


def _beside(env_file: Path, name: str) -> Path:
    """A path from the env file, relative to the env file's directory."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else env_file.parent / path


def encryption_key(values: Mapping[str, str], env_file: Path) -> bytes | None:
    """The backup encryption key named by BACKUP_ENCRYPTION_KEY_FILE (relative to the env
    file), or None when none is set; a ConfigError when it is set but unusable."""
    name = values.get("BACKUP_ENCRYPTION_KEY_FILE") or None
    return load_key(_beside(env_file, name)).secret if name else None
