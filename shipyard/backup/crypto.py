"""Optional client-side encryption of everything written to the backup store.

AES-256-GCM (from `cryptography`) over a stream, in records of 1 MiB, so a dump of any
size is encrypted in bounded memory:

    header  MAGIC (8 bytes) | nonce prefix (8 random bytes)
    record  length (4 bytes, big-endian) | ciphertext+tag
            nonce = prefix | record number (4 bytes); associated data = header | number |
            last flag, so records cannot be reordered, dropped or truncated unnoticed.

The key is 32 bytes kept in a file outside the bucket (BACKUP_ENCRYPTION_KEY_FILE, 64 hex
digits). Its fingerprint (not the key) goes into each manifest, so a restore with another
key is refused before anything is touched.
"""

from __future__ import annotations

import hashlib
import os
import struct
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shipyard.backup.streams import Readable, read_exactly
from shipyard.errors import CommandFailedError, ConfigError

MAGIC = b"SHYAGCM1"
ALGORITHM = "AES-256-GCM"
RECORD = 1024 * 1024
_TAG = 16
_HEADER = len(MAGIC) + 8
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Key:
    """An encryption key and its public fingerprint."""

    secret: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """Names the key in manifests and messages without revealing it."""
        return hashlib.sha256(b"shipyard-backup-key\0" + self.secret).hexdigest()[:16]


class WrongKeyError(ConfigError):
    """The data was encrypted with another key (or was changed)."""


def load_key(path: Path) -> Key:
    """Read a key file: 64 hex digits (32 bytes). One-line ConfigError otherwise."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: the backup encryption key cannot be read ({exc})",
            hint="BACKUP_ENCRYPTION_KEY_FILE names it; create one with"
            " `python3 -c 'import secrets; print(secrets.token_hex(32))' > FILE`",
        ) from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise ConfigError(
            f"{path}: the backup encryption key must be 64 hex digits (32 bytes)",
            hint="create one with `python3 -c 'import secrets; print(secrets.token_hex(32))'`",
        )
    return Key(secret)


def _associated(header: bytes, number: int, last: bool) -> bytes:
    return header + struct.pack(">I?", number, last)


class _RecordReader(ABC):
    """Hands out a buffer that `_next_record` refills one record at a time."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._done = False

    @abstractmethod
    def _next_record(self) -> None:
        """Append the next record's output to the buffer; set `_done` after the last."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes."""
        want = size if size and size > 0 else 1 << 62
        while len(self._buffer) < want and not self._done:
            self._next_record()
        data = bytes(self._buffer[:want])
        del self._buffer[:want]
        return data


class EncryptingReader(_RecordReader):
    """Encrypts `source` as it is read."""

    def __init__(self, source: Readable, key: Key) -> None:
        super().__init__()
        self._source = source
        self._aead = AESGCM(key.secret)
        self._header = MAGIC + os.urandom(8)
        self._buffer += self._header
        self._number = 0
        self._pending = read_exactly(source, RECORD)

    def _next_record(self) -> None:
        following = read_exactly(self._source, RECORD) if len(self._pending) == RECORD else b""
        last = not following
        nonce = self._header[len(MAGIC) :] + struct.pack(">I", self._number)
        sealed = self._aead.encrypt(
            nonce, bytes(self._pending), _associated(self._header, self._number, last)
        )
        self._buffer += _LENGTH.pack(len(sealed)) + sealed
        self._number += 1
        self._pending = following
        self._done = last


class DecryptingReader(_RecordReader):
    """Decrypts what EncryptingReader wrote; WrongKeyError when the key does not fit."""

    def __init__(self, source: Readable, key: Key, *, what: str) -> None:
        super().__init__()
        self._source = source
        self._aead = AESGCM(key.secret)
        self._key = key
        self._what = what
        self._header = read_exactly(source, _HEADER)
        if len(self._header) != _HEADER or not self._header.startswith(MAGIC):
            raise CommandFailedError(f"{what}: not encrypted by Shipyard (bad header)")
        self._number = 0

    def _next_record(self) -> None:
        length = read_exactly(self._source, _LENGTH.size)
        if len(length) != _LENGTH.size:
            raise CommandFailedError(f"{self._what}: encrypted stream is truncated")
        (size,) = _LENGTH.unpack(length)
        sealed = read_exactly(self._source, size)
        if len(sealed) != size or size < _TAG:
            raise CommandFailedError(f"{self._what}: encrypted stream is truncated")
        nonce = self._header[len(MAGIC) :] + struct.pack(">I", self._number)
        for last in (False, True):
            try:
                plain = self._aead.decrypt(
                    nonce, sealed, _associated(self._header, self._number, last)
                )
            except InvalidTag:
                continue
            self._buffer += plain
            self._number += 1
            self._done = last
            if last and self._source.read(1):
                raise CommandFailedError(f"{self._what}: data after the last encrypted record")
            return
        if self._number == 0:
            raise WrongKeyError(
                f"{self._what}: cannot be decrypted with the configured key"
                f" (fingerprint {self._key.fingerprint})",
                hint="set BACKUP_ENCRYPTION_KEY_FILE to the key this backup was made with",
            )
        raise CommandFailedError(f"{self._what}: record {self._number} was altered")
