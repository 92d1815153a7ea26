"""A CI runner's access to an environment, written from the GitHub environment's secrets.

The secrets arrive as environment variables (never as arguments, so they are not in any
process list): the env file, the deploy key, the VM's known_hosts line(s). Files holding a
secret are created with mode 0600 before anything is written into them. When the
environment names no `ssh_key`, the key goes to `.shipyard/ci/id_<env>` and a `Host` block
in `~/.ssh/config` makes the environment's host alias use it (and, with
SHIPYARD_SSH_HOSTNAME, reach the VM's real address).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.config import Environment
from shipyard.errors import ConfigError

ENV_FILE_VARIABLE = "SHIPYARD_ENV_FILE"
SSH_KEY_VARIABLE = "SHIPYARD_SSH_KEY"
KNOWN_HOSTS_VARIABLE = "SHIPYARD_KNOWN_HOSTS"
HOSTNAME_VARIABLE = "SHIPYARD_SSH_HOSTNAME"
REQUIRED = (ENV_FILE_VARIABLE, SSH_KEY_VARIABLE, KNOWN_HOSTS_VARIABLE)
CONFIG_MARK = "# shipyard ci access"


@dataclass(frozen=True)
class AccessFiles:
    """Where the runner's access was written (paths only: never their contents)."""

    env_file: Path
    ssh_key: Path
    known_hosts: Path
    ssh_config: Path | None


def write_secret(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600 from the first byte (the file is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    os.replace(temporary, path)


def host_block(alias: str, key: Path, hostname: str | None, user: str | None) -> str:
    """The `~/.ssh/config` block that points an environment's host alias at the CI key."""
    lines = [f"{CONFIG_MARK}: {alias}", f"Host {alias}"]
    if hostname:
        lines.append(f"    HostName {hostname}")
    if user:
        lines.append(f"    User {user}")
    lines += [f"    IdentityFile {key}", "    IdentitiesOnly yes", ""]
    return "\n".join(lines)


def write_access(env: Environment, values: Mapping[str, str], home: Path) -> AccessFiles:
    """Write the env file, the SSH key and known_hosts of `env` from `values` (the process
    environment); ConfigError naming each missing variable."""
    if env.host is None:
        raise ConfigError(f"environment {env.name} has no host: CI access is for a VM")
    missing = [name for name in REQUIRED if not values.get(name, "").strip()]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not set",
            hint="map the environment's secrets to these variables in the workflow step",
        )
    hostname = values.get(HOSTNAME_VARIABLE, "").strip() or None
    env_file = env.path(env.env_file)
    write_secret(env_file, values[ENV_FILE_VARIABLE])
    known_hosts = env.known_hosts_file
    write_secret(known_hosts, values[KNOWN_HOSTS_VARIABLE])
    config: Path | None = None
    if env.ssh_key is not None:
        key = env.path(env.ssh_key)
    else:
        key = env.path(Path(f".shipyard/ci/id_{env.name}"))
        config = home / ".ssh" / "config"
        config.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        existing = config.read_text(encoding="utf-8") if config.exists() else ""
        if f"{CONFIG_MARK}: {env.host}\n" not in existing:
            block = host_block(env.host, key, hostname, env.user)
            write_secret(config, existing + ("\n" if existing else "") + block)
    write_secret(key, values[SSH_KEY_VARIABLE])
    return AccessFiles(env_file, key, known_hosts, config)
