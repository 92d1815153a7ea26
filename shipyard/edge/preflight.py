"""Edge checks a deploy makes before anything changes: the edge settings read, a brought
certificate fit to serve, and a running nginx able to serve TLS."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path

from shipyard.edge.certinfo import byo_problem
from shipyard.edge.nginx_conf import CERTS_MOUNT
from shipyard.edge.policy import edge_policy
from shipyard.edge.settings import EdgeSettings, edge_settings
from shipyard.errors import ConfigError, PrerequisiteError


def check_edge_settings(values: Mapping[str, str], file: Path) -> EdgeSettings:
    """The edge settings of an env file; ConfigError (one line) for a bad edge policy, or
    a brought certificate that is unreadable, expired, not yet valid, for other names, or
    not its key's."""
    settings = edge_settings(values)
    edge_policy(values)
    if not settings.bring_your_own:
        return settings
    paths = {"TLS_CERT_FILE": settings.cert_file, "TLS_KEY_FILE": settings.key_file}
    contents = {}
    for name, value in paths.items():
        path = (file.parent / value) if not Path(value).is_absolute() else Path(value)
        if not path.is_file():
            raise ConfigError(f"{file.name}: {name} {value}: no such file")
        contents[name] = path.read_bytes()
    now = datetime.datetime.now(datetime.UTC)
    names = settings.names
    problem = byo_problem(contents["TLS_CERT_FILE"], contents["TLS_KEY_FILE"], names, now)
    if problem:
        raise ConfigError(
            f"{file.name}: TLS_CERT_FILE {settings.cert_file}: {problem}",
            hint="bring a current certificate for the public URL's host with its key, "
            "or unset TLS_CERT_FILE and TLS_KEY_FILE to use ACME",
        )
    return settings


def check_edge_mounts(env_name: str, mount_lines: list[str], tls: bool) -> None:
    """PrerequisiteError when an https environment's running nginx (one line of mount
    points per container) was created without the certificate mount (and port 443)."""
    if not tls:
        return
    for line in mount_lines:
        if CERTS_MOUNT not in line.split():
            raise PrerequisiteError(
                f"on {env_name}: nginx does not mount {CERTS_MOUNT} (it was created "
                "before Shipyard served https), so it cannot serve the certificate",
                hint="recreate it once with this checkout's compose files (docs/edge.md, "
                "Upgrading a VM), then deploy",
            )
