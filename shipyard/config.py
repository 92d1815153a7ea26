"""Environments from `invoke.yaml` as typed, validated objects."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shipyard.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT_NAMES_HINT = "environments are declared under shipyard.environments in invoke.yaml"


class ImagesConfig(BaseModel):
    """Where third-party images come from."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["auto", "upstream", "local"] = "auto"


class RetentionConfig(BaseModel):
    """Grandfather-father-son: how many daily, weekly and monthly backups to keep."""

    model_config = ConfigDict(extra="forbid")

    daily: int = Field(default=7, ge=0, le=366)
    weekly: int = Field(default=4, ge=0, le=520)
    monthly: int = Field(default=6, ge=0, le=1200)


class PitrConfig(BaseModel):
    """pgBackRest base backups for point-in-time recovery (docs/backups.md)."""

    model_config = ConfigDict(extra="forbid")

    full_schedule: str = Field(default="47 2 * * 0", pattern=r"^\S+( \S+){4}$")
    """When cron takes a full base backup (minute hour day month weekday)."""
    diff_schedule: str = Field(default="47 2 * * 1-6", pattern=r"^\S+( \S+){4}$")
    """When cron takes a differential one (what changed since the last full)."""
    retention_full: int = Field(default=2, ge=1, le=100)
    """Full backups kept; older ones go with the differentials and WAL only they need."""


class BackupConfig(BaseModel):
    """How backups run; where they go (endpoint, bucket, credentials) is in the env file."""

    model_config = ConfigDict(extra="forbid")

    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    compression_level: int = Field(default=1, ge=1, le=19)
    compression_threads: int = Field(default=0, ge=0, le=64)
    object_workers: int = Field(default=4, ge=1, le=32)
    metrics_dir: Path = Path(".shipyard/metrics")
    log_file: Path = Path(".shipyard/logs/backup.log")
    schedule: str = Field(default="17 3 * * *", pattern=r"^\S+( \S+){4}$")
    incomplete_after_hours: int = Field(default=24, ge=1)
    io_timeout: int = Field(default=60, ge=1, le=3600)
    """Seconds an S3 call may make no progress (connect, send, read) before it fails."""
    io_retries: int = Field(default=2, ge=0, le=10)
    """Further attempts of an S3 call that timed out, lost its connection or got a 5xx."""
    pitr: PitrConfig = Field(default_factory=PitrConfig)


class ProvisionConfig(BaseModel):
    """How `inv provision` reaches a fresh VM and what it sets up there (docs/provision.md)."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(pattern=r"^[a-z_][a-z0-9_-]*$")
    """The cloud image's sudo user (`ubuntu` on Ubuntu images, `debian` on Debian's)."""
    time_servers: list[str] = Field(default_factory=list)
    """NTP servers for chrony; empty keeps the distribution's pool."""
    swap_mb: int = Field(default=2048, ge=0, le=65536)
    """Swap file size on a small VM (0: never)."""
    small_vm_mb: int = Field(default=4096, ge=0)
    """A VM with less memory than this gets the swap file."""


PITR_COMPOSE_FILE = "compose.pitr.yaml"
"""The compose file that turns WAL archiving on (point-in-time recovery, docs/backups.md)."""


class Environment(BaseModel):
    """One target the stack runs on: this machine, a sandbox VM, staging or production."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    host: str | None = None
    user: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    deploy_path: str | None = None
    env_file: Path
    public_url: str
    compose_files: list[Path] = Field(min_length=1)
    profiles: list[str] = Field(default_factory=list)
    project: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    image_delivery: Literal["registry", "ssh", "none"] = "none"
    requires_approval: bool = False
    # Deploys over SSH (docs/deploy.md).
    known_hosts: Path | None = None
    """The VM's host key(s); default .shipyard/known_hosts.<env>. Never learned on connect."""
    ssh_key: Path | None = None
    """Private key file; when unset, ~/.ssh/config and the usual keys decide."""
    connect_timeout: float = Field(default=10.0, gt=0, le=300)
    registry: str | None = None
    """With image_delivery: registry, the repository prefix pushed to and pulled from."""
    keep_releases: int = Field(default=5, ge=2, le=100)
    min_free_disk_mb: int = Field(default=2048, ge=0)
    backup_before_deploy: bool | None = None
    """Back up before migrations on every deploy; unset: only where requires_approval."""
    http_port: int | None = Field(default=None, ge=1, le=65535)
    """Plain HTTP's port when public_url is https on another port than 443 (a sandbox):
    where port 80 (the redirect and ACME challenges) is published; unset: 80."""
    provision: ProvisionConfig | None = None
    """`inv provision`: the sudo user of a fresh VM and what to set up (docs/provision.md)."""

    @property
    def known_hosts_file(self) -> Path:
        """The known_hosts file the environment's SSH connections trust (and only it)."""
        return self.path(self.known_hosts or Path(f".shipyard/known_hosts.{self.name}"))

    @property
    def archives_wal(self) -> bool:
        """True when the stack runs compose/compose.pitr.yaml (WAL archiving with pgBackRest)."""
        return any(file.name == PITR_COMPOSE_FILE for file in self.compose_files)

    @property
    def is_local(self) -> bool:
        """True when the environment is this machine, reached without SSH."""
        return self.host is None

    def path(self, relative: Path) -> Path:
        """A project-relative path made absolute against the repository root."""
        return relative if relative.is_absolute() else PROJECT_ROOT / relative


class ShipyardConfig(BaseModel):
    """The `shipyard` section of invoke.yaml."""

    model_config = ConfigDict(extra="forbid")

    app_name: str
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    environments: dict[str, dict[str, Any]]

    def environment(self, name: str) -> Environment:
        """The named environment, or a ConfigError that lists the known ones."""
        if not name:
            known = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError("no environment given", hint=f"pass --env NAME (known: {known})")
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError(
                f"unknown environment {name!r}; known: {known}", hint=ENVIRONMENT_NAMES_HINT
            )
        raw = dict(self.environments[name])
        if raw.get("host") is None and not raw.get("project"):
            raw["project"] = checkout_project(self.app_name, PROJECT_ROOT)
        try:
            return Environment(name=name, **raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConfigError(
                f"invoke.yaml: shipyard.environments.{name}.{where}: {first['msg']}"
            ) from None


def checkout_project(app_name: str, root: Path) -> str:
    """The compose project of a local stack whose `project` in invoke.yaml is null:
    `<app_name>-<8 hex digits of the checkout's path>`, so two checkouts on one machine
    get their own containers, networks and volumes (a VM's project is always named)."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    return f"{app_name}-{digest}"


def load_config(source: Mapping[str, Any] | Any | None = None) -> ShipyardConfig:
    """Read the `shipyard` section from an Invoke config (or from invoke.yaml itself)."""
    if source is None:
        source = _read_invoke_yaml(PROJECT_ROOT / "invoke.yaml")
    section = source.get("shipyard")
    if not hasattr(section, "items"):
        raise ConfigError("invoke.yaml has no `shipyard` section", hint=ENVIRONMENT_NAMES_HINT)
    try:
        return ShipyardConfig(**_plain(section))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"invoke.yaml: shipyard.{where}: {first['msg']}") from None


def load_environment(name: str, source: Mapping[str, Any] | Any | None = None) -> Environment:
    """The typed environment `name` from invoke.yaml (or from an Invoke config mapping)."""
    return load_config(source).environment(name)


def _read_invoke_yaml(path: Path) -> Mapping[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found", hint="run from a Shipyard checkout") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return data or {}


def _plain(value: Any) -> Any:
    """Invoke's DataProxy objects to plain dicts and lists."""
    if hasattr(value, "items"):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
