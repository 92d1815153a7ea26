"""The application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from docstore import metrics
from docstore.api import documents, health, meta
from docstore.db import pool_stats
from docstore.errors import install_error_handlers, short_error
from docstore.logging_setup import configure_logging
from docstore.middleware.access_log import AccessLogMiddleware
from docstore.middleware.body_limit import BodySizeLimitMiddleware
from docstore.middleware.request_id import RequestIdMiddleware
from docstore.resources import Resources
from docstore.settings import Settings, load

log = logging.getLogger("docstore")


BUCKET_ATTEMPTS = 60
BUCKET_RETRY_SECONDS = 2.0


async def ensure_bucket_at_startup(
    resources: Resources, attempts: int = BUCKET_ATTEMPTS, pause: float = BUCKET_RETRY_SECONDS
) -> None:
    """Creates the bucket if needed, in the background: start-up never waits for it nor
    fails on it (with the store down the app still serves /health, and /ready reports the
    bucket until it is there). A store that does not answer in time (the probe client's
    1 s) is asked again every `pause` seconds, `attempts` times in all, so one slow answer
    at start-up does not leave the bucket missing for good."""
    for attempt in range(attempts):
        try:
            created = await run_in_threadpool(resources.probe_store.ensure_bucket)
        except Exception as exc:
            if attempt == 0:
                log.warning(
                    "could not ensure the bucket at start-up (retrying): %s", short_error(exc)
                )
            await asyncio.sleep(pause)
            continue
        if created:
            log.info("bucket created", extra={"bucket": resources.store.bucket})
        return
    log.error("gave up ensuring the bucket after %d attempts", attempts)


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> FastAPI:
    settings = settings or load(Settings)
    configure_logging(settings.log_level)
    resources = resources or Resources.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "starting",
            extra={"version": settings.app_version, "app_env": settings.app_env},
        )
        bucket = asyncio.create_task(ensure_bucket_at_startup(resources))
        yield
        bucket.cancel()
        resources.close()
        log.info("stopped")

    production = settings.app_env == "production"
    app = FastAPI(
        title="docstore",
        version=settings.app_version,
        debug=settings.debug,
        lifespan=lifespan,
        docs_url=None if production else "/docs",
        redoc_url=None,
        openapi_url=None if production else "/openapi.json",
    )
    app.state.settings = settings
    app.state.resources = resources
    app.include_router(health.router)
    app.include_router(meta.router)
    app.include_router(documents.router)
    install_error_handlers(app)

    # Added innermost first: RequestId -> AccessLog -> BodySizeLimit -> routes.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_upload_bytes)
    app.add_middleware(
        AccessLogMiddleware,
        after_request=lambda: metrics.observe_pool(pool_stats(resources.engine)),
        debug=settings.debug,
    )
    app.add_middleware(RequestIdMiddleware)

    metrics.set_build_info(settings.app_version, settings.git_sha)
    return app
