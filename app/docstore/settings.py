"""Configuration from environment variables.

The variable names are a contract with the compose files and the env-file schema. Settings are
split by concern so that tools needing only part of them (gunicorn.conf.py, Alembic, the CLI) do
not require the rest.

Any variable can instead come from a file named by `<NAME>_FILE` (the convention of the
postgres image): the compose files hand secrets to the containers that way, as files under
/run/secrets, so no secret is in a container's environment (`docker inspect`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_CONFIG = SettingsConfigDict(
    env_prefix="",
    case_sensitive=False,
    extra="ignore",
    env_ignore_empty=True,  # an empty line in an env file means "use the default"
    hide_input_in_errors=True,  # never echo a value (it may be a secret) in an error
)

_S = TypeVar("_S", bound=BaseSettings)

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(RuntimeError):
    """Configuration is missing or invalid; the message names variables, never values."""


class ServerSettings(BaseSettings):
    """What the process manager (gunicorn.conf.py) needs."""

    model_config = _CONFIG

    app_env: Literal["local", "sandbox", "staging", "production"] = "local"
    log_level: str = "INFO"
    debug: bool = False
    web_concurrency: int = Field(default=2, ge=1, le=64)
    gunicorn_timeout: int = Field(default=30, ge=1)
    gunicorn_graceful_timeout: int = Field(default=20, ge=0)
    port: int = Field(default=8000, ge=1, le=65535)
    """The TCP port gunicorn listens on (all interfaces). Platforms that route to a port
    of their choosing (Railway) set PORT; the compose stacks leave it at 8000."""
    app_socket_dir: str | None = None
    """Where gunicorn also listens on a unix socket named `<hostname>.sock` (set on a VM,
    where nginx reaches the serving container through it)."""

    @field_validator("app_socket_dir")
    @classmethod
    def _absolute_socket_dir(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be an absolute path")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> str:
        level = str(value).strip().upper()
        if level == "WARN":
            level = "WARNING"
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @model_validator(mode="after")
    def _no_debug_in_production(self) -> ServerSettings:
        if self.debug and self.app_env == "production":
            raise ValueError("DEBUG must be false when APP_ENV is production")
        return self


class DatabaseSettings(BaseSettings):
    """What the database layer and Alembic need."""

    model_config = _CONFIG

    postgres_host: str = "db"
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_db: str = Field(min_length=1)
    postgres_user: str = Field(min_length=1)
    postgres_password: SecretStr

    def database_url(self, *, driver: str = "postgresql+psycopg"):
        """A SQLAlchemy URL object. Its str() and repr() hide the password; do not log
        ``url.render_as_string(hide_password=False)``."""
        from sqlalchemy.engine import URL  # settings stay importable without it

        return URL.create(
            drivername=driver,
            username=self.postgres_user,
            password=self.postgres_password.get_secret_value(),
            host=self.postgres_host,
            port=self.postgres_port,
            database=self.postgres_db,
        )


class StorageSettings(BaseSettings):
    """What the object store client needs."""

    model_config = _CONFIG

    s3_endpoint: str = "objectstore:9000"
    s3_access_key: SecretStr
    s3_secret_key: SecretStr
    s3_bucket: str = Field(default="documents", min_length=3, max_length=63)
    s3_region: str = "us-east-1"
    s3_secure: bool = False

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint_is_host_port(cls, value: str) -> str:
        value = value.strip()
        if "://" in value or "/" in value:
            raise ValueError("must be host:port without a scheme or path (use S3_SECURE for TLS)")
        if not value:
            raise ValueError("must not be empty")
        return value


class Settings(ServerSettings, DatabaseSettings, StorageSettings):
    """Everything the web application reads."""

    model_config = _CONFIG

    public_url: str = "http://localhost:8000"
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)

    # Baked into the image at build time (Docker build args -> ENV).
    app_version: str = "unknown"
    git_sha: str = "unknown"
    build_time: str = "unknown"

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


def describe_validation_error(cls: type[BaseSettings], exc: ValidationError) -> str:
    """One line per problem, naming the environment variable, never its value."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(part) for part in err.get("loc", ())) or "(settings)"
        name = loc.upper() if loc in cls.model_fields else loc
        msg = err.get("msg", "invalid")
        if err.get("type") == "missing":
            msg = "is required but not set"
        lines.append(f"{name}: {msg}")
    return f"invalid configuration ({cls.__name__}): " + "; ".join(lines)


FILE_SUFFIX = "_FILE"


def file_values(
    cls: type[BaseSettings], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Field name -> value read from the file that `<NAME>_FILE` names, for each field of
    `cls` given that way. A trailing line break is dropped (as the postgres image does).

    SettingsError when both NAME and NAME_FILE are set, or the file cannot be read."""
    environ = os.environ if environ is None else environ
    upper = {key.upper(): value for key, value in environ.items()}
    values = {}
    for field in cls.model_fields:
        name = field.upper()
        path = upper.get(name + FILE_SUFFIX)
        if not path:
            continue
        if upper.get(name):
            raise SettingsError(f"both {name} and {name}{FILE_SUFFIX} are set; set only one")
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise SettingsError(
                f"{name}{FILE_SUFFIX}: cannot read {path} ({exc.strerror})"
            ) from None
        values[field] = text.removesuffix("\n").removesuffix("\r")
    return values


def load(cls: type[_S], **overrides: object) -> _S:
    """Build settings from the environment (and `<NAME>_FILE` files), turning validation
    errors into a SettingsError whose message is safe to log."""
    try:
        return cls(**{**file_values(cls), **overrides})
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(cls, exc)) from None
