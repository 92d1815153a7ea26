"""Documents: metadata rows in PostgreSQL, content in the bucket under ``documents/<id>``."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from minio.error import S3Error
from pydantic import BaseModel
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from docstore.models import Document, object_key_for
from docstore.resources import Resources, get_resources
from docstore.storage import iter_response

log = logging.getLogger(__name__)
router = APIRouter(prefix="/documents", tags=["documents"])

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_CONTENT_TYPE_LENGTH = 255
# type/subtype with optional parameters; printable ASCII only (it is echoed in a header).
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;[ -~]*)?")
# Bodies up to this size stay in memory while uploading; larger ones spill to a temp file.
SPOOL_MEMORY_BYTES = 1024 * 1024

Resources_ = Annotated[Resources, Depends(get_resources)]


class DocumentOut(BaseModel):
    id: uuid.UUID
    title: str
    content_type: str
    size_bytes: int
    sha256: str | None
    created_at: datetime

    @classmethod
    def of(cls, doc: Document) -> DocumentOut:
        return cls(
            id=doc.id,
            title=doc.title,
            content_type=doc.content_type,
            size_bytes=doc.size_bytes,
            sha256=doc.sha256.strip() if doc.sha256 else None,
            created_at=doc.created_at,
        )


class DocumentList(BaseModel):
    items: list[DocumentOut]
    limit: int
    offset: int
    total: int


def normalize_content_type(value: str | None) -> str:
    """The Content-Type to store: the request's, or application/octet-stream when absent.
    Raises ValueError for a value that is not a media type."""
    if value is None or not value.strip():
        return DEFAULT_CONTENT_TYPE
    value = value.strip()
    if len(value) > MAX_CONTENT_TYPE_LENGTH:
        raise ValueError(f"must be at most {MAX_CONTENT_TYPE_LENGTH} characters")
    if not _CONTENT_TYPE.fullmatch(value):
        raise ValueError("must be a media type such as text/plain or application/pdf")
    return value


def _invalid(location: tuple[str, str], message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": location, "msg": message, "type": "value_error"}])


def _not_found(document_id: uuid.UUID) -> HTTPException:
    return HTTPException(status_code=404, detail=f"document {document_id} not found")


@router.post("", status_code=201, response_model=DocumentOut)
async def create_document(
    request: Request,
    response: Response,
    resources: Resources_,
    title: Annotated[str, Query(min_length=1, max_length=200)],
) -> DocumentOut:
    """Stores the raw request body as the document's content."""
    if not title.strip():
        raise _invalid(("query", "title"), "must not be blank")
    try:
        content_type = normalize_content_type(request.headers.get("content-type"))
    except ValueError as exc:
        raise _invalid(("header", "content-type"), str(exc)) from None

    document_id = uuid.uuid4()
    key = object_key_for(document_id)
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
        try:
            # The body-size middleware raises (-> 413) as soon as the limit is passed.
            async for chunk in request.stream():
                if chunk:
                    digest.update(chunk)
                    spool.write(chunk)
                    size += len(chunk)
        except ClientDisconnect:
            log.info("client disconnected during upload", extra={"received_bytes": size})
            raise HTTPException(status_code=400, detail="request body incomplete") from None
        spool.seek(0)
        sha256 = digest.hexdigest()
        await run_in_threadpool(resources.store.put, key, spool, size, sha256)

    def insert() -> Document:
        with resources.sessions() as session, session.begin():
            doc = Document(
                id=document_id,
                title=title,
                content_type=content_type,
                size_bytes=size,
                object_key=key,
                sha256=sha256,
            )
            session.add(doc)
            session.flush()  # INSERT ... RETURNING created_at (server default)
            return doc

    try:
        doc = await run_in_threadpool(insert)
    except Exception:
        # No row, no object: remove the upload so the bucket holds no orphan.
        try:
            await run_in_threadpool(resources.store.remove, key)
        except Exception as cleanup_exc:
            log.warning("could not remove orphan object %s: %s", key, type(cleanup_exc).__name__)
        raise
    response.headers["Location"] = f"{resources.settings.public_url}/documents/{document_id}"
    log.info("document stored", extra={"document_id": str(document_id), "size_bytes": size})
    return DocumentOut.of(doc)


@router.get("", response_model=DocumentList)
async def list_documents(
    resources: Resources_,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentList:
    """Newest first."""

    def query() -> DocumentList:
        with resources.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Document)) or 0
            rows = session.scalars(
                select(Document)
                .order_by(Document.created_at.desc(), Document.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
        return DocumentList(
            items=[DocumentOut.of(d) for d in rows], limit=limit, offset=offset, total=total
        )

    return await run_in_threadpool(query)


def _load(resources: Resources, document_id: uuid.UUID) -> Document | None:
    with resources.sessions() as session:
        return session.get(Document, document_id)


@router.get(
    "/{document_id}", response_model=DocumentOut, responses={404: {"description": "not found"}}
)
async def get_document(document_id: uuid.UUID, resources: Resources_) -> DocumentOut:
    doc = await run_in_threadpool(_load, resources, document_id)
    if doc is None:
        raise _not_found(document_id)
    return DocumentOut.of(doc)


@router.get("/{document_id}/content", responses={404: {"description": "not found"}})
async def get_document_content(document_id: uuid.UUID, resources: Resources_) -> StreamingResponse:
    """The stored bytes, streamed from the bucket, with the Content-Type given at upload."""
    doc = await run_in_threadpool(_load, resources, document_id)
    if doc is None:
        raise _not_found(document_id)
    try:
        upstream = await run_in_threadpool(resources.store.open, doc.object_key)
    except S3Error as exc:
        if exc.code == "NoSuchKey":
            log.error("content missing from the bucket", extra={"object_key": doc.object_key})
            raise HTTPException(
                status_code=500, detail=f"content of document {document_id} is missing"
            ) from None
        raise
    stored_size = upstream.headers.get("content-length")
    if stored_size is not None and stored_size.isdigit() and int(stored_size) != doc.size_bytes:
        upstream.close()
        upstream.release_conn()
        log.error(
            "stored object size differs from the row",
            extra={"object_key": doc.object_key, "stored_bytes": int(stored_size)},
        )
        raise HTTPException(status_code=500, detail=f"content of document {document_id} is damaged")
    headers = {
        # Set explicitly: Starlette would append "; charset=utf-8" to a bare text/* type.
        "content-type": doc.content_type,
        "content-length": str(doc.size_bytes),
        # User-supplied bytes with a user-supplied type: never let a browser run them here.
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "content-disposition": "attachment",
    }
    if doc.sha256:
        headers["etag"] = f'"{doc.sha256.strip()}"'
    return StreamingResponse(iter_response(upstream), headers=headers)


@router.delete("/{document_id}", status_code=204, responses={404: {"description": "not found"}})
async def delete_document(document_id: uuid.UUID, resources: Resources_) -> Response:
    """Removes the object and the row. The row is deleted in a transaction that commits only
    after the object is gone, so a failure leaves both in place and the call can be retried."""

    def delete() -> bool:
        with resources.sessions() as session, session.begin():
            doc = session.get(Document, document_id, with_for_update=True)
            if doc is None:
                return False
            session.delete(doc)
            session.flush()
            resources.store.remove(doc.object_key)
        return True

    if not await run_in_threadpool(delete):
        raise _not_found(document_id)
    return Response(status_code=204)
