"""New env files with fresh secrets: `inv env.init` and `inv setup`."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from shipyard import masking
from shipyard.config import load_environment
from shipyard.envfile.render import render_file
from shipyard.envfile.schema import VARIABLES, require_known_environment
from shipyard.envfile.schema import variable as lookup_variable
from shipyard.envfile.secrets import generate
from shipyard.errors import ConfigError, RefusedError


def new_env_text(env_name: str, *, public_url: str | None = None) -> str:
    """A complete env file for `env_name` with fresh strong secrets, documented like
    .env.example. PUBLIC_URL is `public_url`, or the environment's from invoke.yaml.

    The generated secrets are registered for masking.
    """
    require_known_environment(env_name)
    if public_url is None:
        public_url = load_environment(env_name).public_url
    values: dict[str, str] = {}
    for variable in VARIABLES:
        if not variable.required(env_name):
            continue
        if variable.is_secret:
            values[variable.name] = generate(variable)
        else:
            values[variable.name] = variable.example
    values["APP_ENV"] = env_name
    values["PUBLIC_URL"] = public_url
    port = urlsplit(public_url).port
    http_port = lookup_variable("HTTP_PORT")
    if port is not None and http_port is not None and env_name in http_port.allowed_in:
        values["HTTP_PORT"] = str(port)
    masking.register(*(values[v.name] for v in VARIABLES if v.is_secret and v.name in values))
    header = (
        f"Env file for {env_name}, written by `inv env.init --env {env_name}`.\n"
        "It holds secrets: keep it mode 0600 and out of git. Every variable is documented\n"
        "in .env.example; commented-out lines show the default used when it is not set."
    )
    return render_file(header, values, env=env_name)


def write_new_env_file(path: Path, text: str) -> None:
    """Create `path` with mode 0600 and write `text`; refuse if anything is there already."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RefusedError(
            f"{path}: already exists; not overwriting it",
            hint="move it away first, or pass --file with a new path",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be created ({exc.strerror})") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
