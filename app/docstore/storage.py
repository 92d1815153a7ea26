"""Object storage in an S3-compatible bucket through the minio SDK (minio<8).

Any S3-compatible server works (MinIO, moto, Ceph, AWS): nothing here is MinIO-specific.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import certifi
import urllib3
from minio import Minio
from minio.error import S3Error
from urllib3.response import BaseHTTPResponse

from docstore.settings import StorageSettings

OBJECT_CONTENT_TYPE = "application/octet-stream"
# S3 error codes meaning "the bucket is already there" when two workers create it at once.
_ALREADY_EXISTS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


def make_http_client(
    *, connect_timeout: float, read_timeout: float, retries: int, maxsize: int = 10
) -> urllib3.PoolManager:
    """A urllib3 pool with explicit timeouts; minio's default waits 5 minutes and retries 5
    times, far too long for a readiness probe or a request handler."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=maxsize,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=retries,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504] if retries else [],
            raise_on_status=False,
        ),
    )


class ObjectStore:
    """The application's bucket."""

    def __init__(
        self,
        settings: StorageSettings,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        retries: int = 2,
    ) -> None:
        self.bucket = settings.s3_bucket
        self.region = settings.s3_region
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            # Naming the region spares a GetBucketLocation round trip before each call.
            region=settings.s3_region,
            http_client=make_http_client(
                connect_timeout=connect_timeout, read_timeout=read_timeout, retries=retries
            ),
        )

    @classmethod
    def for_probe(cls, settings: StorageSettings) -> ObjectStore:
        """Short timeouts and no retries: a readiness answer within about a second."""
        return cls(settings, connect_timeout=0.5, read_timeout=1.0, retries=0)

    def bucket_exists(self) -> bool:
        return self.client.bucket_exists(self.bucket)

    def ensure_bucket(self) -> bool:
        """Creates the bucket unless it exists. Returns True when this call created it.
        Safe when several processes race to create it."""
        if self.client.bucket_exists(self.bucket):
            return False
        try:
            self.client.make_bucket(self.bucket, location=self.region)
        except S3Error as exc:
            if exc.code in _ALREADY_EXISTS:
                return False
            raise
        return True

    def put(self, key: str, data: BinaryIO, length: int, sha256: str) -> None:
        """Stores the bytes as application/octet-stream: the database row holds the real
        type. Some S3 stand-ins (moto's server) parse a form-encoded or multipart body instead
        of storing it, which would silently store an empty object."""
        self.client.put_object(
            self.bucket,
            key,
            data,
            length,
            content_type=OBJECT_CONTENT_TYPE,
            metadata={"sha256": sha256},
        )

    def open(self, key: str) -> BaseHTTPResponse:
        """The object's HTTP response; the caller must ``close()`` and ``release_conn()``."""
        return self.client.get_object(self.bucket, key)

    def remove(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)


def iter_response(response: BaseHTTPResponse, chunk_size: int = 64 * 1024):
    """Yields the body in chunks, then returns the connection to the pool."""
    try:
        yield from response.stream(chunk_size)
    finally:
        response.close()
        response.release_conn()
