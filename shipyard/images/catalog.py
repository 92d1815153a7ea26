"""The third-party images the stack names, and the local stand-in for each.

Compose files and the app Dockerfile name upstream images behind variables; where no
registry answers, Shipyard builds a stand-in from Debian packages and passes its tag
through the same variable. This module is data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.config import PROJECT_ROOT
from shipyard.errors import ConfigError

IMAGES_DIR = PROJECT_ROOT / "images"
"""Build contexts of the stand-ins, one directory per image, and their compose file."""

COMPOSE_FILE = IMAGES_DIR / "compose.yaml"
"""Build-only compose file: one service per stand-in, named by its key."""

BASE_TAG = "shipyard-local/debian:bookworm"
"""The Debian rootfs (debootstrap, minbase) every stand-in starts FROM."""

CONTEXT_HASH_LABEL = "io.shipyard.context-hash"
"""Image label holding the hash of the build context it was built from."""


@dataclass(frozen=True)
class Derivation:
    """An image Shipyard builds FROM an upstream one, adding what the stack needs of it
    that upstream lacks (the stand-in has it already): `images/compose.yaml` service
    `service` builds it with the upstream reference as build argument `base_argument`."""

    service: str
    tag: str
    base_argument: str
    files: tuple[str, ...]
    """The files of the build context the build reads (what its hash covers)."""
    adds: str


@dataclass(frozen=True)
class ThirdPartyImage:
    """One upstream image the stack uses, and the stand-in that replaces it locally."""

    key: str
    """Short name; also the service name in images/compose.yaml."""
    variable: str
    """Compose variable / build arg that carries the image reference."""
    upstream: str
    """The production image, the default of `variable`."""
    standin: str
    """Tag of the local stand-in (its version is the Debian one: no lying in the tag)."""
    summary: str
    needs_pip_ca: bool = False
    """True when its build installs from PyPI (BuildKit secret `pip_ca`)."""
    derivation: Derivation | None = None
    """What runs instead of the upstream image itself, when upstream is chosen."""

    @property
    def context(self) -> Path:
        """Build context directory of the stand-in."""
        return IMAGES_DIR / self.key


CATALOG: tuple[ThirdPartyImage, ...] = (
    ThirdPartyImage(
        key="python",
        variable="PYTHON_IMAGE",
        upstream="python:3.12-slim",
        standin="shipyard-local/python:3.11",
        summary="Debian python3 3.11 with venv/ensurepip, python-is-python3, ca-certificates",
    ),
    ThirdPartyImage(
        key="postgres",
        variable="POSTGRES_IMAGE",
        upstream="postgres:16",
        standin="shipyard-local/postgres:15",
        summary="Debian PostgreSQL 15 with an upstream-compatible entrypoint, uid/gid 999",
        derivation=Derivation(
            service="postgres-pitr",
            tag="shipyard-derived/postgres:16-pgbackrest",
            base_argument="POSTGRES_IMAGE",
            files=("Dockerfile.upstream", "pgbackrest-relay"),
            adds="pgBackRest, socat and openssl for WAL archiving (compose/compose.pitr.yaml)",
        ),
    ),
    ThirdPartyImage(
        key="nginx",
        variable="NGINX_IMAGE",
        upstream="nginx:1.27",
        standin="shipyard-local/nginx:1.22",
        summary="Debian nginx 1.22, user nginx 101:101, curl, envsubst templates",
    ),
    ThirdPartyImage(
        key="objectstore",
        variable="OBJECTSTORE_IMAGE",
        upstream="minio/minio:RELEASE.2025-04-22T22-12-26Z",
        standin="shipyard-local/objectstore:seaweedfs-4.48",
        summary="SeaweedFS S3 server (objects on disk) behind `minio server` and `mc ready` shims",
        needs_pip_ca=True,
    ),
)


VM_CATALOG: tuple[ThirdPartyImage, ...] = (
    ThirdPartyImage(
        key="acme",
        variable="ACME_IMAGE",
        upstream="goacme/lego:v4.9.1",
        standin="shipyard-local/lego:4.9",
        summary="Debian lego 4.9.1 (the ACME client on the VM), /lego entrypoint, sh",
    ),
)
"""Images only a VM runs (compose.production.yaml): resolved by `inv deploy`, never by
`inv setup` or `inv up`."""


MONITORING_CATALOG: tuple[ThirdPartyImage, ...] = (
    ThirdPartyImage(
        key="prometheus",
        variable="PROMETHEUS_IMAGE",
        upstream="prom/prometheus:v2.53.4",
        standin="shipyard-local/prometheus:2.42",
        summary="Debian prometheus 2.42 (with promtool), wget for its health check",
    ),
    ThirdPartyImage(
        key="alertmanager",
        variable="ALERTMANAGER_IMAGE",
        upstream="prom/alertmanager:v0.27.0",
        standin="shipyard-local/alertmanager:0.25",
        summary="Debian prometheus-alertmanager 0.25 (with amtool), wget",
    ),
    ThirdPartyImage(
        key="node-exporter",
        variable="NODE_EXPORTER_IMAGE",
        upstream="prom/node-exporter:v1.8.2",
        standin="shipyard-local/node-exporter:1.5",
        summary="Debian prometheus-node-exporter 1.5",
    ),
    ThirdPartyImage(
        key="postgres-exporter",
        variable="POSTGRES_EXPORTER_IMAGE",
        upstream="quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
        standin="shipyard-local/postgres-exporter:0.11",
        summary="Debian prometheus-postgres-exporter 0.11",
    ),
    ThirdPartyImage(
        key="nginx-exporter",
        variable="NGINX_EXPORTER_IMAGE",
        upstream="nginx/nginx-prometheus-exporter:1.3.0",
        standin="shipyard-local/nginx-exporter:0.11",
        summary="Debian prometheus-nginx-exporter 0.11",
    ),
    ThirdPartyImage(
        key="blackbox-exporter",
        variable="BLACKBOX_EXPORTER_IMAGE",
        upstream="prom/blackbox-exporter:v0.25.0",
        standin="shipyard-local/blackbox-exporter:0.23",
        summary="Debian prometheus-blackbox-exporter 0.23",
    ),
)
"""The monitoring profile's images (compose/compose.monitoring.yaml): resolved when the
profile starts, never by `inv setup`. Grafana has no Debian package and no stand-in."""

ALL_IMAGES: tuple[ThirdPartyImage, ...] = CATALOG + VM_CATALOG + MONITORING_CATALOG


def keys() -> list[str]:
    """The keys of every image the base stack needs, in build order."""
    return [image.key for image in CATALOG]


def all_keys() -> list[str]:
    """The keys of every catalogued image, the VM's and the monitoring profile's included."""
    return [image.key for image in ALL_IMAGES]


def derived_images() -> list[tuple[ThirdPartyImage, Derivation]]:
    """Each catalogued image that has a derivation, with it."""
    return [(image, image.derivation) for image in ALL_IMAGES if image.derivation]


def get(key: str) -> ThirdPartyImage:
    """The catalogued image `key`, or a ConfigError naming the known keys."""
    for image in ALL_IMAGES:
        if image.key == key:
            return image
    raise ConfigError(f"unknown image {key!r}; known: {', '.join(all_keys())}")


def select(selected: list[str] | tuple[str, ...] | None = None) -> list[ThirdPartyImage]:
    """The images named in `selected` (the base stack's when None), in catalogue order."""
    if selected is None:
        return list(CATALOG)
    wanted = {get(key).key for key in selected}
    return [image for image in ALL_IMAGES if image.key in wanted]
