"""What the edge of one environment is: TLS or not, its names, HSTS, and where its
certificate comes from. Pure: read from the env file's values and the public URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.config import Environment
from shipyard.envfile.load import read_env_file
from shipyard.envfile.rules import parse_bool
from shipyard.errors import ConfigError

ACME_DIRECTORIES = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
"""Names ACME_DIRECTORY accepts besides any https:// URL of an RFC 8555 server."""


@dataclass(frozen=True)
class EdgeSettings:
    """The edge of one environment, as the nginx config and the ACME client need it."""

    public_url: str
    extra_names: tuple[str, ...] = ()
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False
    acme_directory: str = ACME_DIRECTORIES["letsencrypt"]
    acme_email: str = ""
    acme_ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    trust_file: str = ""

    @property
    def tls(self) -> bool:
        """True when the public URL is https: nginx terminates TLS and port 80 redirects."""
        return urlsplit(self.public_url).scheme == "https"

    @property
    def host(self) -> str:
        """The public URL's host name (the certificate's first name)."""
        return urlsplit(self.public_url).hostname or ""

    @property
    def origin(self) -> str:
        """scheme://host[:port] of the public URL: where port 80 redirects to."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the certificate must cover: the public host first."""
        return (self.host, *(name for name in self.extra_names if name != self.host))

    @property
    def bring_your_own(self) -> bool:
        """True when the env file names a certificate and key instead of ACME."""
        return bool(self.cert_file)

    @property
    def hsts(self) -> str:
        """The Strict-Transport-Security value: two years, options opt-in."""
        value = "max-age=63072000"
        if self.hsts_include_subdomains:
            value += "; includeSubDomains"
        if self.hsts_preload:
            value += "; preload"
        return value


def _names(value: str) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())


def directory_url(value: str) -> str:
    """ACME_DIRECTORY as a URL: a known name, or an https:// URL given as is."""
    if value in ACME_DIRECTORIES:
        return ACME_DIRECTORIES[value]
    if urlsplit(value).scheme == "https" and urlsplit(value).hostname:
        return value
    known = ", ".join(ACME_DIRECTORIES)
    raise ConfigError(
        f"ACME_DIRECTORY {value!r} is neither {known} nor an https:// URL",
        hint="name the ACME server's directory URL, e.g. https://acme.example.com/directory",
    )


def edge_settings(values: Mapping[str, str]) -> EdgeSettings:
    """The edge described by an env file's values (defaults where a variable is unset)."""
    if bool(values.get("TLS_CERT_FILE")) != bool(values.get("TLS_KEY_FILE")):
        raise ConfigError(
            "TLS_CERT_FILE and TLS_KEY_FILE must be set together",
            hint="name both files of the certificate you bring, or neither to use ACME",
        )
    settings = EdgeSettings(
        public_url=values.get("PUBLIC_URL", ""),
        extra_names=_names(values.get("TLS_EXTRA_NAMES", "")),
        hsts_include_subdomains=bool(parse_bool(values.get("HSTS_INCLUDE_SUBDOMAINS", "false"))),
        hsts_preload=bool(parse_bool(values.get("HSTS_PRELOAD", "false"))),
        acme_directory=directory_url(values.get("ACME_DIRECTORY") or "letsencrypt"),
        acme_email=values.get("ACME_EMAIL", ""),
        acme_ca_file=values.get("ACME_CA_FILE", ""),
        cert_file=values.get("TLS_CERT_FILE", ""),
        key_file=values.get("TLS_KEY_FILE", ""),
        trust_file=values.get("TLS_TRUST_FILE", ""),
    )
    if settings.tls and not settings.bring_your_own and not settings.acme_email:
        raise ConfigError(
            "ACME_EMAIL is not set: the ACME account needs a contact address",
            hint="set ACME_EMAIL (expiry notices), or bring a certificate with TLS_CERT_FILE",
        )
    return settings


def trust_file(env: Environment) -> Path | None:
    """TLS_TRUST_FILE of an environment's env file (a test CA clients of it trust), as a
    path; None when unset or the environment is not https."""
    if not env.public_url.startswith("https://"):
        return None
    path = env.path(env.env_file)
    if not path.exists():
        return None
    value = read_env_file(path).get("TLS_TRUST_FILE", "")
    return env.path(Path(value)) if value else None


def cors_origin(env: Environment) -> str | None:
    """The first of CORS_ORIGINS in the environment's env file (what the smoke suite's
    CORS checks ask as); None when none is allowed."""
    path = env.path(env.env_file)
    if not path.exists():
        return None
    origins = [o.strip() for o in read_env_file(path).get("CORS_ORIGINS", "").split(",")]
    return next((origin for origin in origins if origin), None)
