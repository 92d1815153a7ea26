"""Readers that transform a stream as it flows: hashing, zstd compression, decompression.

Each wraps a source with `read(size)` and never holds more than one chunk, so a dump of
any size passes through in bounded memory. An error raised by the source (pg_dump exiting
non-zero) propagates through every layer to the consumer (the multipart upload).
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO, Protocol, cast

import zstandard

READ_CHUNK = 1024 * 1024


class Readable(Protocol):
    """Anything with a binary `read`."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes; b"" at the end."""
        ...


class HashingReader:
    """Passes bytes through, counting them and computing their sha256."""

    def __init__(self, source: Readable) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self.bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        """Read from the source and account for what was read."""
        data = self._source.read(size)
        self._hash.update(data)
        self.bytes += len(data)
        return data

    @property
    def sha256(self) -> str:
        """Hex digest of everything read so far."""
        return self._hash.hexdigest()


def compressing(source: Readable, *, level: int, threads: int) -> Readable:
    """zstd-compress `source` as it is read (one frame; `threads` workers, 0 = inline)."""
    compressor = zstandard.ZstdCompressor(level=level, threads=threads)
    # zstandard only calls `read`; its stubs ask for a whole IO[bytes]
    return compressor.stream_reader(cast(BinaryIO, source), read_size=READ_CHUNK, closefd=False)


def decompressing(source: Readable) -> Readable:
    """Decompress a zstd stream as it is read."""
    decompressor = zstandard.ZstdDecompressor()
    return decompressor.stream_reader(
        cast(BinaryIO, source), read_size=READ_CHUNK, read_across_frames=True, closefd=False
    )


def drain(source: Readable, chunk: int = READ_CHUNK) -> int:
    """Read `source` to its end, discarding the bytes; how many there were."""
    total = 0
    while data := source.read(chunk):
        total += len(data)
    return total


def read_exactly(source: Readable | BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, reading until the source has given them or ended."""
    parts, missing = [], size
    while missing > 0:
        data = source.read(min(missing, READ_CHUNK))
        if not data:
            break
        parts.append(data)
        missing -= len(data)
    return b"".join(parts)
