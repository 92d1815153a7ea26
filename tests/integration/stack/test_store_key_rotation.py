"""`inv secrets.rotate` of the object store's key pair on the local stack (the real
SeaweedFS stand-in): the store takes a second key and drops one while the app uploads and
downloads documents without a failed request; after a rotation the old key is refused by
SigV4, the new one works, and so do the app and the documents stored before."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from minio import Minio
from minio.error import S3Error

from shipyard.config import load_config
from shipyard.envfile.load import read_env_file
from shipyard.rotation.storetargets import LocalObjectStore
from tests.integration.stack.conftest import Stack
from tests.integration.support import run_inv

EXTRA_ACCESS, EXTRA_SECRET = "EXTRAKEYFORTHETEST01", "extra-secret-key-for-the-test-0123456"


@dataclass
class AppTraffic:
    """Uploads a document, downloads it back and asks /ready, in a loop through nginx,
    until stopped (at most 120 s); every answer that is not the expected one is a failure.
    Five rounds a second, under nginx's limit of ten writes a second per client."""

    url: str
    rounds: int = 0
    failed: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> AppTraffic:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    self._round(client)
                except httpx.HTTPError as exc:
                    self.failed.append(repr(exc))
                time.sleep(0.2)

    def _round(self, client: httpx.Client) -> None:
        content = os.urandom(50_000)
        created = client.post("/documents", params={"title": "rotation"}, content=content)
        if created.status_code != 201:
            self.failed.append(f"upload {created.status_code} {created.text[:200]}")
            return
        body = client.get(f"/documents/{created.json()['id']}/content")
        if body.status_code != 200 or body.content != content:
            self.failed.append(f"download {body.status_code}")
        ready = client.get("/ready")
        if ready.status_code != 200:
            self.failed.append(f"ready {ready.status_code} {ready.text[:200]}")
        self.rounds += 1


def s3_client(stack: Stack, access_key: str, secret_key: str) -> Minio:
    """A client of the stack's store through its port published on 127.0.0.1."""
    result = stack.compose([*stack.lib.project.base(), "port", "objectstore", "9000"])
    endpoint = result.raise_for_status("docker compose port").stdout.strip()
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False)


def refused_code(client: Minio) -> str | None:
    """The S3 error code of a signed ListBuckets, None when it is accepted."""
    try:
        client.list_buckets()
    except S3Error as exc:
        return exc.code
    return None


@pytest.fixture(scope="module")
def store(stack: Stack) -> Iterator[LocalObjectStore]:
    """The library's handle on the running store, as `inv secrets.rotate` uses it."""
    stack.wait_ready()
    yield LocalObjectStore(load_config(), stack.isolated.environment())


def test_a_second_key_comes_and_goes_while_the_app_stores_documents(
    stack: Stack, store: LocalObjectStore
):
    with AppTraffic(stack.url) as traffic:
        time.sleep(1)
        store.add(EXTRA_ACCESS, EXTRA_SECRET)
        assert refused_code(s3_client(stack, EXTRA_ACCESS, EXTRA_SECRET)) is None
        time.sleep(1)
        store.remove(EXTRA_ACCESS)
        time.sleep(1)
    assert refused_code(s3_client(stack, EXTRA_ACCESS, EXTRA_SECRET)) == "InvalidAccessKeyId"
    assert traffic.failed == [], f"failed: {traffic.failed[:5]}"
    assert traffic.rounds >= 3


def test_rotate_retires_the_old_key_and_the_app_keeps_its_documents(stack: Stack):
    env_file = stack.lib.project.env_file
    old = read_env_file(env_file)
    before = httpx.post(
        f"{stack.url}/documents", params={"title": "before"}, content=b"kept", timeout=10
    )
    assert before.status_code == 201, before.text
    dry = run_inv(
        "secrets.rotate", "--name", "S3_SECRET_KEY", "--dry-run", env=stack.isolated.overrides()
    )
    assert dry.returncode == 0, dry.stderr
    assert "the store accepts a new random key beside the old one" in dry.stdout
    assert read_env_file(env_file) == old

    result = run_inv("secrets.rotate", "--name", "S3_SECRET_KEY", env=stack.isolated.overrides())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "rotated S3_SECRET_KEY of local" in output
    assert "the object store refuses the old key" in output
    new = read_env_file(env_file)
    assert new["S3_ACCESS_KEY"] != old["S3_ACCESS_KEY"]
    assert new["S3_SECRET_KEY"] != old["S3_SECRET_KEY"]
    for value in (old["S3_ACCESS_KEY"], old["S3_SECRET_KEY"], new["S3_SECRET_KEY"]):
        assert value not in output
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"

    old_client = s3_client(stack, old["S3_ACCESS_KEY"], old["S3_SECRET_KEY"])
    assert refused_code(old_client) == "InvalidAccessKeyId"
    assert refused_code(s3_client(stack, new["S3_ACCESS_KEY"], new["S3_SECRET_KEY"])) is None
    stack.wait_ready()
    kept = httpx.get(f"{stack.url}/documents/{before.json()['id']}/content", timeout=10)
    assert kept.content == b"kept"
    with AppTraffic(stack.url) as traffic:
        time.sleep(2)
    assert traffic.failed == [] and traffic.rounds >= 1
