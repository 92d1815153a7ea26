"""Edge checks a deploy makes before anything changes: the edge settings read, a brought
certificate fit to serve, and a running nginx able to serve TLS."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from shipyard.edge.certinfo import byo_problem
from shipyard.edge.nginx_conf import CERTS_MOUNT
from shipyard.edge.policy import edge_policy
from shipyard.edge.settings import EdgeSettings, edge_settings
from shipyard.errors import ConfigError, PrerequisiteError


def _beside(env_file: Path, value: str) -> str:
    """A file named in the env file, relative to the env file's directory."""
    if not value or Path(value).is_absolute():
        return value
    return str(env_file.parent / value)


def check_edge_settings(values: Mapping[str, str], file: Path) -> EdgeSettings:
    """The edge settings of env file `file` (the files it names made absolute, relative to
    its directory); ConfigError (one line) for a bad edge policy, a missing file, or
    a brought certificate that is unreadable, expired, not yet valid, for other names, or
    not its key's."""
    settings = edge_settings(values)
    edge_policy(values)
    settings = replace(
        settings,
        cert_file=_beside(file, settings.cert_file),
        key_file=_beside(file, settings.key_file),
        acme_ca_file=_beside(file, settings.acme_ca_file),
    )
    if settings.acme_ca_file and not Path(settings.acme_ca_file).is_file():
        raise ConfigError(f"{file.name}: ACME_CA_FILE {values['ACME_CA_FILE']}: no such file")
    if not settings.bring_your_own:
        return settings
    paths = {"TLS_CERT_FILE": settings.cert_file, "TLS_KEY_FILE": settings.key_file}
    contents = {}
    for name, path in paths.items():
        if not Path(path).is_file():
            raise ConfigError(f"{file.name}: {name} {values[name]}: no such file")
        contents[name] = Path(path).read_bytes()
    now = datetime.datetime.now(datetime.UTC)
    names = settings.names
    problem = byo_problem(contents["TLS_CERT_FILE"], contents["TLS_KEY_FILE"], names, now)
    if problem:
        raise ConfigError(
            f"{file.name}: TLS_CERT_FILE {values['TLS_CERT_FILE']}: {problem}",
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
