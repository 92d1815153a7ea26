"""Build information and metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from docstore import metrics
from docstore.db import pool_stats
from docstore.resources import Resources, get_resources

router = APIRouter(tags=["meta"])


@router.get("/version")
async def version(resources: Annotated[Resources, Depends(get_resources)]) -> dict[str, str]:
    s = resources.settings
    return {"version": s.app_version, "git_sha": s.git_sha, "build_time": s.build_time}


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(resources: Annotated[Resources, Depends(get_resources)]) -> Response:
    metrics.observe_pool(pool_stats(resources.engine))
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type)
