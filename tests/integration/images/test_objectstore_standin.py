"""shipyard-local/objectstore (SeaweedFS) stands in for minio/minio as the stack uses it:
objects on disk in the volume, kept across a restart of the container, SigV4 enforced."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from minio import Minio
from minio.error import S3Error

from tests.integration.images.support import Container, Sandbox, docker, wait_until

pytestmark = pytest.mark.integration

USER, PASSWORD = "docstore-s3", "docstore-s3-secret"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def objectstore(standins, sandbox: Sandbox) -> Container:
    """As compose runs it: upstream's command, credentials, a /data volume, `mc ready`."""
    container = sandbox.start(
        standins["objectstore"],
        "server", "/data", "--console-address", ":9001",
        options=[
            "-p", "127.0.0.1::9000",
            "-e", f"MINIO_ROOT_USER={USER}",
            "-e", f"MINIO_ROOT_PASSWORD={PASSWORD}",
            "-v", f"{sandbox.volume()}:/data",
            "--security-opt", "no-new-privileges:true",
            "--health-cmd", "mc ready local",
            "--health-interval", "1s",
            "--health-retries", "30",
        ],
    )  # fmt: skip
    wait_until("the objectstore health check", lambda: container.health() == "healthy", 60)
    return container


@pytest.fixture(scope="module")
def client(objectstore: Container) -> Minio:
    endpoint = f"127.0.0.1:{objectstore.host_port(9000)}"
    return Minio(endpoint, access_key=USER, secret_key=PASSWORD, secure=False)


def test_mc_ready_local_is_the_health_check(objectstore):
    result = objectstore.exec("mc", "ready", "local")
    assert result.stdout.strip() == "The cluster 'local' is ready"
    assert objectstore.inspect()["State"]["Health"]["Status"] == "healthy"


def test_runs_unprivileged_and_says_what_it_is(objectstore):
    assert objectstore.uids() == {1000}
    out, _ = objectstore.logs()
    assert "S3-API: http://0.0.0.0:9000" in out
    assert "on disk in /data" in out


def test_put_get_list_and_presigned_get(client):
    client.make_bucket("documents")
    client.put_object("documents", "a/hello world.txt", io.BytesIO(b"hello"), 5)
    assert client.get_object("documents", "a/hello world.txt").read() == b"hello"
    names = [o.object_name for o in client.list_objects("documents", prefix="a/")]
    assert names == ["a/hello world.txt"]
    url = client.presigned_get_object("documents", "a/hello world.txt")
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        assert response.read() == b"hello"


def test_streamed_multipart_upload_in_two_parts(client):
    client.make_bucket("backups")
    data = os.urandom(6 * MIB)
    # Unknown length, as a streamed pg_dump: the SDK uploads 5 MiB parts.
    client.put_object("backups", "db.dump", io.BytesIO(data), length=-1, part_size=5 * MIB)
    stat = client.stat_object("backups", "db.dump")
    assert stat.size == len(data)
    assert stat.etag.endswith("-2")  # a multipart ETag: two parts
    fetched = client.get_object("backups", "db.dump").read()
    assert hashlib.sha256(fetched).digest() == hashlib.sha256(data).digest()


def test_wrong_credentials_are_refused(objectstore):
    endpoint = f"127.0.0.1:{objectstore.host_port(9000)}"
    for access_key, secret_key, code in (
        (USER, "not-the-secret", "SignatureDoesNotMatch"),
        ("someone-else", PASSWORD, "InvalidAccessKeyId"),
        ("", "", "AccessDenied"),
    ):
        with pytest.raises(S3Error) as caught:
            Minio(
                endpoint, access_key=access_key, secret_key=secret_key, secure=False
            ).list_buckets()
        assert caught.value.code == code


def test_objects_survive_a_restart_of_the_container(objectstore, client):
    """The stand-in keeps its objects on disk in the /data volume, as MinIO does."""
    client.make_bucket("durable")
    small, large = os.urandom(1000), os.urandom(12 * MIB)
    client.put_object("durable", "small.bin", io.BytesIO(small), len(small))
    client.put_object("durable", "large.bin", io.BytesIO(large), -1, part_size=5 * MIB)
    docker("restart", "--time", "20", objectstore.name)
    wait_until("the objectstore after a restart", lambda: objectstore.health() == "healthy", 60)
    moved = Minio(
        f"127.0.0.1:{objectstore.host_port(9000)}",  # a restart may publish a new host port
        access_key=USER,
        secret_key=PASSWORD,
        secure=False,
    )
    assert {o.object_name for o in moved.list_objects("durable")} == {"small.bin", "large.bin"}
    assert moved.get_object("durable", "small.bin").read() == small
    fetched = moved.get_object("durable", "large.bin").read()
    assert hashlib.sha256(fetched).digest() == hashlib.sha256(large).digest()
    data_files = objectstore.exec("sh", "-c", "du -sm /data | cut -f1").stdout
    assert int(data_files) >= 12  # the bytes are in the volume, not in memory
