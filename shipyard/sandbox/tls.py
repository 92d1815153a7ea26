"""An https sandbox: its test ACME server started beside it, and its env file pointed at it.

`inv sandbox.up` of an environment whose public_url is https starts the test CA
(shipyard.sandbox.testca) and writes the few lines of the env file that depend on it
(ports, ACME_DIRECTORY, ACME_CA_FILE, TLS_TRUST_FILE); `inv sandbox.down` stops it.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.config import PROJECT_ROOT, Environment
from shipyard.envfile.render import format_assignment
from shipyard.sandbox import testca

STATE_ROOT = PROJECT_ROOT / ".shipyard" / "sandbox"


def state_dir(name: str) -> Path:
    """Where the test CA of sandbox container `name` keeps its files."""
    return STATE_ROOT / f"acme-{name}"


def is_https(env: Environment) -> bool:
    """True when the environment's public URL is https."""
    return urlsplit(env.public_url).scheme == "https"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_test_ca(env: Environment, name: str) -> testca.TestCA:
    """The sandbox's Pebble, started unless it runs, validating on the VM's HTTP port."""
    if not env.http_port:
        raise ValueError(f"environment {env.name} has no http_port")
    ports = (_free_port(), _free_port(), _free_port(), _free_port())
    host = urlsplit(env.public_url).hostname or ""
    return testca.start(state_dir(name), ports, env.http_port, [host])


def stop_test_ca(name: str) -> bool:
    """Stop the sandbox's Pebble; True when it ran."""
    return testca.stop(state_dir(name))


def env_values(env: Environment, ca: testca.TestCA) -> dict[str, str]:
    """The env file lines an https sandbox needs for its test CA."""
    return {
        "HTTP_PORT": str(env.http_port),
        "HTTPS_PORT": str(urlsplit(env.public_url).port or 443),
        "ACME_DIRECTORY": ca.directory_url,
        "ACME_CA_FILE": str(ca.server_ca),
        "TLS_TRUST_FILE": str(ca.root),
        "ACME_EMAIL": "sandbox@example.org",
    }


def set_values(path: Path, values: Mapping[str, str]) -> None:
    """Set `values` in an env file: a line `KEY=...` replaced, else appended (mode kept)."""
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        line = format_assignment(key, value)
        pattern = re.compile(rf"^{re.escape(key)}=.*$", re.MULTILINE)
        if pattern.search(text):
            text = pattern.sub(line.replace("\\", "\\\\"), text)
        else:
            text = text.rstrip("\n") + "\n" + line + "\n"
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.replace(path)
