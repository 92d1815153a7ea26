"""The backup store: one bucket and prefix on an S3-compatible service, via the minio SDK.

Every call translates the SDK's failures (unreachable endpoint, refused credentials,
missing bucket, a store that stopped answering) into one CommandFailedError line that
names the endpoint, the operation and the fix, and never a secret.

Every S3 call has an I/O timeout and bounded retries (`IoPolicy`, pgBackRest's io-timeout
as the model): a connect, send or read that makes no progress for `timeout` seconds fails,
and the call is retried `retries` times with a short backoff. So a store that stops
answering ends any call within `IoPolicy.bound` seconds.
"""

from __future__ import annotations

import io
import math
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error

from shipyard.backup.multipart import UploadFailedError, abort_note, upload_stream
from shipyard.backup.streams import Readable
from shipyard.backup.target import S3Location
from shipyard.errors import CommandFailedError

MiB = 1024 * 1024
MIN_PART = 8 * MiB
MAX_PARTS = 10_000
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
}


def part_size_for(expected_bytes: int) -> int:
    """A multipart part size that fits `expected_bytes` (with 2x headroom) in S3's 10,000
    parts, rounded up to whole MiB, at least 8 MiB. The SDK holds about
    (parallel uploads + 1) parts in memory, so small is better while it fits."""
    needed = math.ceil(max(expected_bytes, 0) * 2 / (MAX_PARTS - 1000))
    return max(MIN_PART, math.ceil(needed / MiB) * MiB)


BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 5.0


@dataclass(frozen=True)
class IoPolicy:
    """How long an S3 call may make no progress, and how often it is tried again."""

    timeout: float = 60.0
    """Seconds a connect, a send or a read may wait for progress (pgBackRest's io-timeout)."""
    retries: int = 2
    """Further attempts of a call that timed out, lost its connection or got a 5xx."""

    @property
    def run_bound(self) -> float:
        """The longest a run can go on once the store stopped answering: the call in
        flight with its retries, then one attempt to abort the multipart upload."""
        return self.bound + self.timeout

    @property
    def bound(self) -> float:
        """The longest one call can take against a store that stopped answering."""
        backoff = sum(min(BACKOFF_FACTOR * float(2**n), BACKOFF_MAX) for n in range(self.retries))
        return (self.retries + 1) * self.timeout + backoff


def client_for(location: S3Location, *, pool_size: int = 8, io: IoPolicy | None = None) -> Minio:
    """A minio client whose every call times out and is retried as `io` says."""
    io = io or IoPolicy()
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=io.timeout, read=io.timeout),
        maxsize=pool_size,
        retries=urllib3.Retry(
            total=io.retries,
            connect=io.retries,
            read=io.retries,
            status=io.retries,
            backoff_factor=BACKOFF_FACTOR,
            backoff_max=BACKOFF_MAX,
            status_forcelist=[500, 502, 503, 504],
        ),
    )
    return Minio(
        location.endpoint,
        access_key=location.access_key,
        secret_key=location.secret_key,
        region=location.region,
        secure=location.secure,
        http_client=http,
    )


def _timed_out(exc: BaseException) -> bool:
    """True when the call failed because the store made no progress within the timeout
    (a connect, read or send timeout, possibly wrapped by urllib3)."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    if isinstance(reason, urllib3.exceptions.ProtocolError) and len(reason.args) > 1:
        reason = reason.args[1]
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return False  # refused or no route: urllib3 files it under ConnectTimeoutError
    return isinstance(reason, urllib3.exceptions.TimeoutError | socket.timeout | TimeoutError)


def describe_failure(
    exc: BaseException,
    location: S3Location,
    role: str,
    operation: str = "",
    io: IoPolicy | None = None,
) -> str:
    """One line for a failed S3 call: what, where, and what to check."""
    where = f"{role} {location.url}" + (f" ({operation})" if operation else "")
    if isinstance(exc, UploadFailedError):
        cause = describe_failure(exc.cause, location, role, operation, io)
        return f"{cause}; {abort_note(exc.aborted)}"
    if io is not None and _timed_out(exc):
        attempts = io.retries + 1 if isinstance(exc, urllib3.exceptions.MaxRetryError) else 1
        return (
            f"{where} stopped answering: no progress for {io.timeout:g} s"
            f" ({attempts} attempt{'s' if attempts > 1 else ''})"
        )
    if isinstance(exc, S3Error):
        if exc.code in _CREDENTIAL_CODES:
            return f"{where} refused the credentials ({exc.code}); check the access and secret key"
        if exc.code == "NoSuchBucket":
            return f"{where}: the bucket does not exist; create it or fix the bucket name"
        return f"{where}: {exc.code}: {exc.message}"
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        reason = exc.reason or exc
        return f"{where} is unreachable ({type(reason).__name__}: {_short(reason)})"
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return f"{where} is unreachable ({type(exc).__name__}: {_short(exc)})"
    return f"{where}: {type(exc).__name__}: {_short(exc)}"


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text.split(": ", 1)[-1][:200]


@dataclass
class Bucket:
    """One bucket: reads, writes and listings with one-line errors."""

    location: S3Location
    role: str
    pool_size: int = 8
    io: IoPolicy = field(default_factory=IoPolicy)

    def __post_init__(self) -> None:
        self.client = client_for(self.location, pool_size=self.pool_size, io=self.io)
        # Aborting a failed upload: one attempt, so a store that stays away costs one timeout.
        self._abort_client = client_for(
            self.location, pool_size=2, io=IoPolicy(timeout=self.io.timeout, retries=0)
        )

    @contextmanager
    def errors(self, operation: str = "") -> Iterator[None]:
        """Turn SDK and network failures into one CommandFailedError line."""
        try:
            yield
        except (
            MinioException,
            urllib3.exceptions.HTTPError,
            OSError,
            ValueError,
            UploadFailedError,
        ) as exc:
            if isinstance(exc, CommandFailedError):
                raise
            raise CommandFailedError(
                describe_failure(exc, self.location, self.role, operation, self.io)
            ) from None

    def check(self, *, create: bool = False) -> None:
        """The bucket answers with these credentials (created when asked and missing)."""
        with self.errors("checking the bucket"):
            if self.client.bucket_exists(self.location.bucket):
                return
            if create:
                self.client.make_bucket(self.location.bucket)
                return
        raise CommandFailedError(
            f"{self.role} {self.location.url}: the bucket does not exist",
            hint="create it, or fix the bucket name in the env file",
        )

    def put_stream(
        self,
        key: str,
        source: Readable,
        *,
        part_size: int,
        length: int = -1,
        parallel: int = 2,
        metadata: dict[str, str] | None = None,
        content_type: str = "application/octet-stream",
        stop: threading.Event | None = None,
    ) -> None:
        """Upload a stream (multipart when larger than a part). A failing source, a failed
        part, `stop` or a signal aborts the multipart upload (nothing is left)."""
        if length >= 0:
            part_size = max(part_size, MIN_PART, math.ceil(length / (MAX_PARTS - 1)))
        with self.errors(f"uploading {key}"):
            upload_stream(
                self.client,
                self.location.bucket,
                key,
                source,
                part_size=part_size,
                parallel=parallel,
                metadata=metadata,
                content_type=content_type,
                abort=lambda upload_id: self._abort(key, upload_id),
                stop=stop,
            )

    def _abort(self, key: str, upload_id: str) -> bool:
        """Abort a multipart upload, once; whether it worked."""
        try:
            self._abort_client._abort_multipart_upload(self.location.bucket, key, upload_id)
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError):
            return False
        return True

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        metadata: dict[str, str] | None = None,
        content_type: str = "application/octet-stream",
    ) -> None:
        """Upload a small object in one request."""
        self.put_stream(
            key,
            io.BytesIO(data),
            part_size=len(data) + 1,
            length=len(data),
            parallel=1,
            metadata=metadata,
            content_type=content_type,
        )

    @contextmanager
    def open(self, key: str) -> Iterator[Download]:
        """A streamed download; the response is released afterwards."""
        with self.errors(f"downloading {key}"):
            response = self.client.get_object(self.location.bucket, key)
        try:
            yield Download(response, self, key)
        finally:
            response.close()
            response.release_conn()

    def get_bytes(self, key: str) -> bytes:
        """A small object, whole."""
        with self.open(key) as download:
            return download.read()

    def exists(self, key: str) -> bool:
        """True when `key` is there."""
        try:
            self.client.stat_object(self.location.bucket, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NotFound", "ResourceNotFound"}:
                return False
            raise CommandFailedError(
                describe_failure(exc, self.location, self.role, f"looking up {key}", self.io)
            ) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise CommandFailedError(
                describe_failure(exc, self.location, self.role, f"looking up {key}", self.io)
            ) from None
        return True

    def open_uploads(self, prefix: str) -> list[tuple[str, str, datetime | None]]:
        """Multipart uploads begun under `prefix` and neither completed nor aborted (the
        first 1,000): key, upload id, when it began."""
        with self.errors(f"listing unfinished uploads under {prefix}"):
            result = self.client._list_multipart_uploads(
                self.location.bucket, prefix=prefix, max_uploads=1000
            )
        return [
            (upload.object_name, upload.upload_id or "", upload.initiated_time)
            for upload in result.uploads
        ]

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort one unfinished multipart upload (its parts are deleted)."""
        with self.errors(f"aborting the upload of {key}"):
            self.client._abort_multipart_upload(self.location.bucket, key, upload_id)

    def list(self, prefix: str, *, recursive: bool = True) -> Iterator[tuple[str, int, str]]:
        """(key, size, etag) of every object under `prefix`; directories when not recursive
        come with size -1."""
        with self.errors(f"listing {prefix or 'the bucket'}"):
            for item in self.client.list_objects(
                self.location.bucket, prefix=prefix, recursive=recursive
            ):
                size = -1 if item.is_dir else int(item.size or 0)
                yield item.object_name or "", size, (item.etag or "").strip('"')

    def remove(self, keys: Sequence[str]) -> None:
        """Delete objects in batches; a failure to delete any of them is an error."""
        with self.errors("deleting objects"):
            for start in range(0, len(keys), 1000):
                batch = [DeleteObject(key) for key in keys[start : start + 1000]]
                failed = list(self.client.remove_objects(self.location.bucket, batch))
                if failed:
                    raise CommandFailedError(
                        f"{self.role} {self.location.url}: could not delete"
                        f" {failed[0].name}: {failed[0].message}"
                    )


class Download:
    """The body of a GET, read in chunks, with its headers."""

    def __init__(self, response: urllib3.BaseHTTPResponse, bucket: Bucket, key: str) -> None:
        self.key = key
        self._response = response
        self._bucket = bucket
        self.headers = response.headers

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes of the body."""
        with self._bucket.errors(f"downloading {self.key}"):
            if size is None or size < 0:
                return self._response.read()
            return self._response.read(size)

    @property
    def metadata(self) -> dict[str, str]:
        """User metadata (x-amz-meta-*), keys lower-cased without the prefix."""
        prefix = "x-amz-meta-"
        return {
            key.lower()[len(prefix) :]: value
            for key, value in self.headers.items()
            if key.lower().startswith(prefix)
        }
