"""Prometheus metrics, in multiprocess mode under gunicorn.

gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR (default /tmp/prometheus-metrics) before the
workers start, wipes it at start-up and marks dead workers; each worker then writes its samples
to files there and any worker's /metrics aggregates all of them. Without the variable (tests,
plain uvicorn) the default in-process registry is used.
"""

from __future__ import annotations

import os

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_MULTIPROC_DIR = "/tmp/prometheus-metrics"  # noqa: S108 - a tmpfs in the container

if os.environ.get(MULTIPROC_ENV):
    # Must exist before the first sample is written (prometheus_client opens files lazily).
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

from prometheus_client import (  # noqa: E402 - after the directory exists
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess  # noqa: E402

from docstore.db import PoolStats  # noqa: E402

LABELS = ("method", "route", "status")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"

REQUESTS = Counter("http_requests", "HTTP requests served.", LABELS)
REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from request start to the end of the response body.",
    LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# Pool gauges are summed over live workers: the numbers are totals for the container.
DB_POOL_SIZE = Gauge(
    "docstore_db_pool_size", "Configured database pool size.", multiprocess_mode="livesum"
)
DB_POOL_CHECKED_OUT = Gauge(
    "docstore_db_pool_checked_out",
    "Database connections in use.",
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "docstore_db_pool_overflow",
    "Database connections open beyond the pool size.",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_IN = Gauge(
    "docstore_db_pool_checked_in",
    "Idle database connections in the pool.",
    multiprocess_mode="livesum",
)
BUILD_INFO = Gauge(
    "docstore_build_info",
    "Always 1; labels say which build is running.",
    ("version", "git_sha"),
    multiprocess_mode="max",
)


def method_label(method: str) -> str:
    """Unknown methods share one label so a client cannot blow up the series count."""
    method = method.upper()
    return method if method in KNOWN_METHODS else "OTHER"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    labels = (method_label(method), route, str(status))
    REQUESTS.labels(*labels).inc()
    REQUEST_DURATION.labels(*labels).observe(seconds)


def observe_pool(stats: PoolStats | None) -> None:
    if stats is None:
        return
    DB_POOL_SIZE.set(stats.size)
    DB_POOL_CHECKED_OUT.set(stats.checked_out)
    DB_POOL_OVERFLOW.set(stats.overflow)
    DB_POOL_CHECKED_IN.set(stats.checked_in)


def set_build_info(version: str, git_sha: str) -> None:
    BUILD_INFO.labels(version, git_sha).set(1)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def render() -> tuple[bytes, str]:
    """The exposition text for all workers (multiprocess) or this process."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
