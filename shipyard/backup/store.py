"""The backup store: one bucket and prefix on an S3-compatible service, via the minio SDK.

Every call translates the SDK's failures (unreachable endpoint, refused credentials,
missing bucket) into one CommandFailedError line that names the endpoint and the fix, and
never a secret.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error

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


def client_for(location: S3Location, *, pool_size: int = 8) -> Minio:
    """A minio client with short connect timeouts and few retries (cron must not hang)."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=120),
        maxsize=pool_size,
        retries=urllib3.Retry(
            total=2, connect=1, backoff_factor=0.3, status_forcelist=[500, 502, 503, 504]
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


def describe_failure(exc: BaseException, location: S3Location, role: str) -> str:
    """One line for a failed S3 call: what, where, and what to check."""
    where = f"{role} {location.url}"
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

    def __post_init__(self) -> None:
        self.client = client_for(self.location, pool_size=self.pool_size)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn SDK and network failures into one CommandFailedError line."""
        try:
            yield
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if isinstance(exc, CommandFailedError):
                raise
            raise CommandFailedError(describe_failure(exc, self.location, self.role)) from None

    def check(self, *, create: bool = False) -> None:
        """The bucket answers with these credentials (created when asked and missing)."""
        with self.errors():
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
    ) -> None:
        """Upload a stream; a failing source aborts the multipart upload (nothing is left)."""
        with self.errors():
            self.client.put_object(
                self.location.bucket,
                key,
                source,  # type: ignore[arg-type]
                length=length,
                part_size=part_size if length < 0 else 0,
                num_parallel_uploads=parallel,
                metadata=metadata,  # type: ignore[arg-type]
                content_type=content_type,
            )

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
            part_size=0,
            length=len(data),
            parallel=1,
            metadata=metadata,
            content_type=content_type,
        )

    @contextmanager
    def open(self, key: str) -> Iterator[Download]:
        """A streamed download; the response is released afterwards."""
        with self.errors():
            response = self.client.get_object(self.location.bucket, key)
        try:
            yield Download(response, self)
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
            raise CommandFailedError(describe_failure(exc, self.location, self.role)) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise CommandFailedError(describe_failure(exc, self.location, self.role)) from None
        return True

    def list(self, prefix: str, *, recursive: bool = True) -> Iterator[tuple[str, int, str]]:
        """(key, size, etag) of every object under `prefix`; directories when not recursive
        come with size -1."""
        with self.errors():
            for item in self.client.list_objects(
                self.location.bucket, prefix=prefix, recursive=recursive
            ):
                size = -1 if item.is_dir else int(item.size or 0)
                yield item.object_name or "", size, (item.etag or "").strip('"')

    def remove(self, keys: Sequence[str]) -> None:
        """Delete objects in batches; a failure to delete any of them is an error."""
        with self.errors():
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

    def __init__(self, response: urllib3.BaseHTTPResponse, bucket: Bucket) -> None:
        self._response = response
        self._bucket = bucket
        self.headers = response.headers

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes of the body."""
        with self._bucket.errors():
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
