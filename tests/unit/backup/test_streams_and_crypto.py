"""Streams: hashing, zstd, AES-GCM records; bounded chunks, truncation and wrong keys."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from shipyard.backup.crypto import (
    MAGIC,
    DecryptingReader,
    EncryptingReader,
    Key,
    WrongKeyError,
    load_key,
)
from shipyard.backup.streams import (
    HashingReader,
    compressing,
    decompressing,
    drain,
    read_exactly,
)
from shipyard.errors import CommandFailedError, ConfigError, ExitCode

KEY = Key(bytes(range(32)))


def test_hashing_reader_counts_and_hashes():
    data = os.urandom(300_000)
    reader = HashingReader(io.BytesIO(data))
    assert drain(reader, 7000) == len(data)
    assert reader.bytes == len(data)
    assert reader.sha256 == hashlib.sha256(data).hexdigest()


def test_zstd_round_trip_is_byte_identical():
    data = os.urandom(2_000_000) + b"a" * 3_000_000
    packed = read_exactly(compressing(io.BytesIO(data), level=3, threads=2), 1 << 40)
    assert packed[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    assert len(packed) < len(data)
    assert read_exactly(decompressing(io.BytesIO(packed)), 1 << 40) == data


def test_a_failing_source_fails_the_compressed_stream():
    class Failing:
        def __init__(self):
            self.calls = 0

        def read(self, size=-1):
            self.calls += 1
            if self.calls > 2:
                raise CommandFailedError("pg_dump failed (exit 1)")
            return os.urandom(100_000)

    with pytest.raises(CommandFailedError, match="pg_dump failed"):
        drain(compressing(Failing(), level=3, threads=0))


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 - 1, 1024 * 1024, 3 * 1024 * 1024 + 5])
def test_encryption_round_trip(size):
    data = os.urandom(size)
    sealed = read_exactly(EncryptingReader(io.BytesIO(data), KEY), 1 << 40)
    assert sealed.startswith(MAGIC)
    assert size < 64 or data[:64] not in sealed
    opened = DecryptingReader(io.BytesIO(sealed), KEY, what="x")
    assert read_exactly(opened, 1 << 40) == data


def test_wrong_key_is_refused_clearly():
    sealed = read_exactly(EncryptingReader(io.BytesIO(b"secret rows"), KEY), 1 << 20)
    other = Key(os.urandom(32))
    with pytest.raises(WrongKeyError) as caught:
        read_exactly(DecryptingReader(io.BytesIO(sealed), other, what="postgres.dump"), 100)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert "cannot be decrypted with the configured key" in caught.value.one_line()
    assert other.fingerprint in caught.value.one_line()


def test_truncated_or_altered_ciphertext_is_detected():
    data = os.urandom(3 * 1024 * 1024)
    sealed = read_exactly(EncryptingReader(io.BytesIO(data), KEY), 1 << 40)
    record = 4 + 1024 * 1024 + 16
    # dropping the last record: the stream ends without its final record
    truncated = sealed[: 16 + 2 * record]
    with pytest.raises(CommandFailedError, match="truncated"):
        read_exactly(DecryptingReader(io.BytesIO(truncated), KEY, what="x"), 1 << 40)
    altered = bytearray(sealed)
    altered[16 + record + 100] ^= 1
    with pytest.raises(CommandFailedError, match="altered"):
        read_exactly(DecryptingReader(io.BytesIO(bytes(altered)), KEY, what="x"), 1 << 40)
    with pytest.raises(CommandFailedError, match="after the last"):
        read_exactly(DecryptingReader(io.BytesIO(sealed + b"x"), KEY, what="x"), 1 << 40)


def test_key_files(tmp_path: Path):
    good = tmp_path / "key"
    good.write_text(os.urandom(32).hex() + "\n")
    assert len(load_key(good).fingerprint) == 16
    bad = tmp_path / "bad"
    bad.write_text("not hex")
    with pytest.raises(ConfigError, match="64 hex digits"):
        load_key(bad)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_key(tmp_path / "missing")


def test_fingerprint_does_not_reveal_the_key():
    assert KEY.secret.hex() not in KEY.fingerprint
    assert "secret" not in repr(KEY) or KEY.secret.hex() not in repr(KEY)
