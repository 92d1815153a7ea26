"""A streamed multipart upload that fails fast and cleans up after itself.

The minio SDK's own `put_object` keeps reading its source after a part failed (its pool
only reports failures once the stream has ended) and retries its abort like any call.
Here, with the SDK's S3 calls: parts are read one at a time and at most `parallel` are in
flight (memory: parallel + 1 parts); the first failed part, a failing source, a `stop`
event or a signal ends the upload at once; the multipart upload is then aborted in one
bounded attempt, and the outcome of that abort travels with the error.

The multipart calls are the SDK's own (`_create_multipart_upload`, `_upload_part`,
`_complete_multipart_upload`), stable across minio 7.x, which pyproject.toml pins (<8).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from minio import Minio
from minio.datatypes import Part
from minio.helpers import genheaders

from shipyard.backup.streams import Readable, read_exactly
from shipyard.errors import CommandFailedError, ShipyardError

MAX_PARTS = 10_000


class UploadStoppedError(CommandFailedError):
    """The upload was told to stop (another part of the backup failed)."""


@dataclass
class UploadFailedError(Exception):
    """An S3 call of the upload failed; `aborted` says whether its parts were removed."""

    cause: BaseException
    aborted: bool

    def __str__(self) -> str:
        return str(self.cause)


def abort_note(aborted: bool) -> str:
    """What became of the parts of a failed multipart upload, for the error line."""
    if aborted:
        return "the multipart upload was aborted"
    return (
        "the multipart upload could not be aborted either: the bucket's lifecycle rule"
        " (AbortIncompleteMultipartUpload) removes its parts"
    )


def upload_stream(
    client: Minio,
    bucket: str,
    key: str,
    source: Readable,
    *,
    part_size: int,
    parallel: int,
    metadata: dict[str, str] | None,
    content_type: str,
    abort: Callable[[str], bool],
    stop: threading.Event | None = None,
) -> None:
    """Upload `source` to `bucket`/`key`: one PUT when it fits in a part, else a multipart
    upload of `part_size` parts, `parallel` at a time.

    On any failure the multipart upload is aborted with `abort(upload_id)` (which returns
    whether that worked). A ShipyardError (a failing source, a signal) is re-raised with
    the abort's outcome added to its message; an S3 failure is raised as UploadFailedError.
    """
    headers = genheaders(metadata, None, None, None, False)  # type: ignore[arg-type]
    headers["Content-Type"] = content_type
    first = read_exactly(source, part_size)
    if len(first) < part_size:
        try:
            client.put_object(
                bucket,
                key,
                io.BytesIO(first),
                len(first),
                metadata=metadata,  # type: ignore[arg-type]
                content_type=content_type,
            )
        except ShipyardError:
            raise
        except Exception as exc:
            raise UploadFailedError(exc, aborted=True) from exc
        return
    try:
        upload_id = client._create_multipart_upload(bucket, key, headers)
    except ShipyardError as exc:
        # a signal cut the call short: the store may have created the upload already
        exc.message = f"{exc.message}; {abort_note(_abort_open(client, bucket, key, abort))}"
        raise
    except Exception as exc:
        raise UploadFailedError(exc, aborted=True) from exc
    try:
        parts = _upload_parts(
            client, bucket, key, upload_id, (first, source), part_size, parallel, stop
        )
        client._complete_multipart_upload(bucket, key, upload_id, parts)
    except BaseException as exc:
        aborted = abort(upload_id)
        if isinstance(exc, ShipyardError):
            exc.message = f"{exc.message}; {abort_note(aborted)}"
            raise
        if isinstance(exc, Exception):
            raise UploadFailedError(exc, aborted) from exc
        raise


def _abort_open(client: Minio, bucket: str, key: str, abort: Callable[[str], bool]) -> bool:
    """Abort every multipart upload open for exactly `key`; whether all of them were."""
    try:
        listed = client._list_multipart_uploads(bucket, prefix=key)
    except Exception:
        return False
    ids = [upload.upload_id for upload in listed.uploads if upload.object_name == key]
    return all([abort(upload_id) for upload_id in ids if upload_id])


def _upload_parts(
    client: Minio,
    bucket: str,
    key: str,
    upload_id: str,
    stream: tuple[bytes, Readable],
    part_size: int,
    parallel: int,
    stop: threading.Event | None,
) -> list[Part]:
    """Every part of the stream, uploaded; their numbers and ETags in order."""

    def one(number: int, data: bytes) -> Part:
        if stop is not None and stop.is_set():
            raise UploadStoppedError(f"upload of {key} stopped")
        etag = client._upload_part(bucket, key, data, None, upload_id, number)
        return Part(number, etag)

    first, source = stream
    done: list[Part] = []
    pending: set[Future[Part]] = set()
    pool = ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix="upload-part")
    try:
        data, number = first, 0
        while data:
            number += 1
            if number > MAX_PARTS:
                raise CommandFailedError(
                    f"{key}: more than {MAX_PARTS} parts of {part_size} bytes",
                    hint="the part size is chosen from the database's size; report this",
                )
            if stop is not None and stop.is_set():
                raise UploadStoppedError(f"upload of {key} stopped")
            while len(pending) >= max(parallel, 1):
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                done.extend(future.result() for future in finished)
            pending.add(pool.submit(one, number, data))
            data = read_exactly(source, part_size)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            done.extend(future.result() for future in finished)
    finally:
        # Leave without waiting for parts still in flight: their own I/O timeout ends them.
        pool.shutdown(wait=False, cancel_futures=True)
    return sorted(done, key=lambda part: part.part_number)
