"""The backup store's calls against a real S3 server (moto) and a store that accepts
connections but never answers (a real listening socket): uploads complete, fail fast,
abort, and never hang; SIGTERM raises inside a held lock and the lock is released."""

from __future__ import annotations

import io
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import PurePosixPath

import pytest

from shipyard.backup.interrupt import Interrupted, critical, signals_fail
from shipyard.backup.lock import held
from shipyard.backup.multipart import UploadStoppedError
from shipyard.backup.store import Bucket, IoPolicy
from shipyard.backup.target import S3Location
from shipyard.errors import CommandFailedError
from shipyard.remote import LocalRunner
from tests.integration.support import s3_server

MIB = 1024 * 1024
FAST = IoPolicy(timeout=1, retries=1)


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with s3_server("timeouts") as endpoint:
        yield endpoint


def _bucket(endpoint: str, io_policy: IoPolicy = FAST) -> Bucket:
    location = S3Location(endpoint, "timeouts", "x" * 20, "y" * 40)
    return Bucket(location, "backup store", io=io_policy)


def _open_uploads(bucket: Bucket) -> list[str]:
    result = bucket.client._list_multipart_uploads("timeouts")
    return [upload.object_name for upload in result.uploads]


class Source:
    """`total` bytes of random data; raises after `fail_after` bytes when given."""

    def __init__(self, total: int, fail_after: int | None = None) -> None:
        self.left, self.read_bytes, self.fail_after = total, 0, fail_after
        self.block = os.urandom(MIB)

    def read(self, size: int = -1, /) -> bytes:
        if self.fail_after is not None and self.read_bytes >= self.fail_after:
            raise CommandFailedError("pg_dump (in db) failed")
        size = min(size if size > 0 else MIB, self.left, MIB)
        self.left -= size
        self.read_bytes += size
        return self.block[:size]


def test_a_streamed_upload_of_many_parts_completes(moto):
    bucket = _bucket(moto)
    data = os.urandom(21 * MIB)
    bucket.put_stream("big", io.BytesIO(data), part_size=5 * MIB, parallel=2)
    assert bucket.get_bytes("big") == data
    assert "big" not in _open_uploads(bucket)


def test_a_failing_source_aborts_the_upload_and_says_so(moto):
    bucket = _bucket(moto)
    with pytest.raises(CommandFailedError) as caught:
        bucket.put_stream("broken", Source(40 * MIB, fail_after=12 * MIB), part_size=5 * MIB)
    assert caught.value.one_line() == ("pg_dump (in db) failed; the multipart upload was aborted")
    assert "broken" not in _open_uploads(bucket)
    assert not bucket.exists("broken")


def test_a_stop_event_ends_the_upload_between_parts(moto):
    bucket = _bucket(moto)
    stop = threading.Event()
    stop.set()
    source = Source(40 * MIB)
    with pytest.raises(UploadStoppedError):
        bucket.put_stream("stopped", source, part_size=5 * MIB, stop=stop)
    assert source.read_bytes <= 10 * MIB
    assert "stopped" not in _open_uploads(bucket)


@pytest.fixture
def silent_store() -> Iterator[str]:
    """A TCP port that accepts connections (the kernel does) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_a_store_that_never_answers_fails_within_the_bound(silent_store):
    bucket = _bucket(silent_store)
    started = time.monotonic()
    with pytest.raises(CommandFailedError) as caught:
        bucket.check()
    elapsed = time.monotonic() - started
    assert elapsed < FAST.bound + 5
    assert caught.value.one_line() == (
        f"backup store http://{silent_store}/timeouts (checking the bucket) stopped answering:"
        " no progress for 1 s (2 attempts)"
    )


class FreezableProxy:
    """A TCP proxy in front of the S3 server that can freeze: from then on it neither
    forwards nor closes anything, as a paused container's published port behaves."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.endpoint = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        source.settimeout(0.2)
        while not self.closed.is_set():
            if self.frozen.is_set():
                time.sleep(0.1)
                continue
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                target.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.closed.set()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def proxy(moto: str) -> Iterator[FreezableProxy]:
    proxy = FreezableProxy(moto)
    try:
        yield proxy
    finally:
        proxy.close()


def test_a_store_that_freezes_mid_upload_ends_it_within_the_bound(proxy):
    bucket = _bucket(proxy.endpoint)
    source = Source(200 * MIB)

    class Freezing:
        def read(self, size: int = -1, /) -> bytes:
            if source.read_bytes >= 12 * MIB:
                proxy.frozen.set()
            return source.read(size)

    started = time.monotonic()
    with pytest.raises(CommandFailedError) as caught:
        bucket.put_stream("frozen", Freezing(), part_size=5 * MIB, parallel=2)
    assert time.monotonic() - started < FAST.run_bound + 10
    line = caught.value.one_line()
    assert line.startswith(f"backup store http://{proxy.endpoint}/timeouts (uploading frozen)")
    assert "stopped answering" in line
    assert "the multipart upload could not be aborted either" in line
    assert source.read_bytes < 40 * MIB  # it stopped reading at the first failed part


def test_bounds_of_the_default_policy():
    assert IoPolicy().bound == 3 * 60 + 0.5 + 1.0
    assert IoPolicy().run_bound == 4 * 60 + 1.5
    assert IoPolicy(timeout=5, retries=1).run_bound == 15.5


def test_sigterm_inside_a_held_lock_raises_and_the_lock_is_released(tmp_path):
    lock = PurePosixPath(tmp_path / "backup.lock")
    runner = LocalRunner(tmp_path)
    with (
        pytest.raises(Interrupted, match="backup stopped by SIGTERM"),
        held(runner, lock, "backup", lambda _line: None),
    ):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        raise AssertionError("SIGTERM did not interrupt the run")
    assert not os.path.exists(lock)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_signal_in_a_critical_step_is_raised_after_it():
    finished = []
    with pytest.raises(Interrupted, match="restore stopped by SIGINT"), signals_fail("restore"):
        with critical():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            finished.append("swap")
        raise AssertionError("the held-back signal was not raised")
    assert finished == ["swap"]


def test_unfinished_uploads_are_listed_and_aborted(moto):
    """What `inv backup.prune` does with uploads a run that lost its store left behind."""
    bucket = _bucket(moto)
    upload_id = bucket.client._create_multipart_upload("timeouts", "it/left/over", {})
    bucket.client._upload_part("timeouts", "it/left/over", b"x" * 5 * MIB, None, upload_id, 1)
    [(key, listed_id, began)] = bucket.open_uploads("it/left/")
    assert (key, listed_id) == ("it/left/over", upload_id)
    assert began is not None
    bucket.abort_upload(key, listed_id)
    assert bucket.open_uploads("it/left/") == []


def test_a_signal_as_the_store_creates_the_upload_still_aborts_it(moto, monkeypatch):
    """SIGINT can land after the store created the multipart upload and before its id
    reached the caller: the upload is then found by its key and aborted all the same."""
    bucket = _bucket(moto)
    create = bucket.client._create_multipart_upload

    def created_then_interrupted(*args, **kwargs):
        create(*args, **kwargs)  # the store has it now
        raise Interrupted("backup stopped by SIGINT")

    monkeypatch.setattr(bucket.client, "_create_multipart_upload", created_then_interrupted)
    with pytest.raises(Interrupted) as caught:
        bucket.put_stream("cut", Source(12 * MIB), part_size=5 * MIB)
    assert caught.value.one_line() == ("backup stopped by SIGINT; the multipart upload was aborted")
    assert "cut" not in _open_uploads(bucket)
