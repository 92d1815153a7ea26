"""The edge policy of one environment: per-client rate limits by class, CORS, proxy
timeouts and the client's real address behind a load balancer. Pure: read from the env
file's values, validated here (one line naming the variable)."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shipyard.envfile.rules import parse_bool
from shipyard.errors import ConfigError

DEV_RATE_PER_MINUTE = 3000
"""local and sandbox, unless set: the load gate and the zero-downtime tests send 20-50
requests a second from one address."""
DEV_WRITE_RATE_PER_MINUTE = 600


@dataclass(frozen=True)
class EdgePolicy:
    """What nginx enforces in front of the app."""

    rate_per_minute: int = 100
    rate_burst: int = 50
    write_rate_per_minute: int = 10
    write_burst: int = 10
    cors_origins: tuple[str, ...] = ()
    cors_credentials: bool = False
    cors_max_age: int = 600
    proxy_connect_timeout: int = 5
    proxy_read_timeout: int = 60
    proxy_send_timeout: int = 60
    real_ip_from: tuple[str, ...] = ()
    real_ip_header: str = "X-Forwarded-For"

    @property
    def retry_after(self) -> int:
        """Seconds until the general limit admits a request again (Retry-After)."""
        return math.ceil(60 / self.rate_per_minute)

    @property
    def write_retry_after(self) -> int:
        """Seconds until the write limit admits a request again (Retry-After)."""
        return math.ceil(60 / self.write_rate_per_minute)


def _int(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name}={raw!r} is not a whole number from {low} to {high}")
    return int(raw)


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _origins(value: str) -> tuple[str, ...]:
    origins = _list(value)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ConfigError(
                f"CORS_ORIGINS: {origin!r} is not an origin",
                hint="write scheme://host[:port], e.g. https://app.example.com, comma-separated",
            )
    return origins


def _networks(value: str) -> tuple[str, ...]:
    networks = _list(value)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"REAL_IP_FROM: {network!r} is not an address or CIDR network",
                hint="name the load balancer's addresses, e.g. 10.0.0.0/16, comma-separated",
            ) from None
    return networks


def edge_policy(values: Mapping[str, str]) -> EdgePolicy:
    """The policy an env file describes; unset values take the defaults of its APP_ENV."""
    dev = values.get("APP_ENV", "") in ("local", "sandbox")
    rate = DEV_RATE_PER_MINUTE if dev else 100
    write_rate = DEV_WRITE_RATE_PER_MINUTE if dev else 10
    header = values.get("REAL_IP_HEADER", "").strip() or "X-Forwarded-For"
    if not header.replace("-", "").isalnum():
        raise ConfigError(f"REAL_IP_HEADER={header!r} is not a header name")
    return EdgePolicy(
        rate_per_minute=_int(values, "RATE_LIMIT_PER_MINUTE", rate, 1, 600000),
        rate_burst=_int(values, "RATE_LIMIT_BURST", 50 if not dev else 100, 0, 100000),
        write_rate_per_minute=_int(values, "RATE_LIMIT_WRITES_PER_MINUTE", write_rate, 1, 600000),
        write_burst=_int(values, "RATE_LIMIT_WRITES_BURST", 10, 0, 100000),
        cors_origins=_origins(values.get("CORS_ORIGINS", "")),
        cors_credentials=bool(parse_bool(values.get("CORS_CREDENTIALS", "false"))),
        cors_max_age=_int(values, "CORS_MAX_AGE", 600, 0, 86400),
        proxy_connect_timeout=_int(values, "PROXY_CONNECT_TIMEOUT", 5, 1, 75),
        proxy_read_timeout=_int(values, "PROXY_READ_TIMEOUT", 60, 1, 3600),
        proxy_send_timeout=_int(values, "PROXY_SEND_TIMEOUT", 60, 1, 3600),
        real_ip_from=_networks(values.get("REAL_IP_FROM", "")),
        real_ip_header=header,
    )
