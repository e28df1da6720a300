"""The format of an encrypted stored file: a header, then the plaintext in chunks, each sealed with
AES-256-GCM under the file's own random key; that key is wrapped (AES-256-GCM) by the data dir's file-wrap
key and kept in the header, so deleting the file destroys its key.

    header  = MAGIC (8) | chunk size (u32 BE) | plaintext length (u64 BE) | wrap nonce (12) | wrapped key (48)
    chunk i = AES-GCM(file key, nonce = i as 12 bytes BE, aad = header[:20] + (1 if last else 0))

The header's fields are bound to the key wrap and to every chunk (associated data); a truncated,
reordered or spliced file fails to decrypt. Chunks allow seeking: a frame of a 1 GB multiframe decrypts
only its chunks."""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator, Sequence
from typing import BinaryIO

MAGIC = b"TLRENC\x01\n"
CHUNK = 64 * 1024
TAG = 16
_FIELDS = struct.Struct(">IQ")
HEADER = len(MAGIC) + _FIELDS.size + 12 + 32 + TAG  # 80 bytes


class DecryptError(ValueError):
    """A stored file that does not decrypt: the wrong key, or a damaged or truncated file."""


def is_encrypted(head: bytes) -> bool:
    return head[:len(MAGIC)] == MAGIC


def _aesgcm(key: bytes):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _chunks(length: int, chunk: int) -> int:
    return max(1, -(-length // chunk))


def make_header(wrap_key: bytes, length: int, chunk: int = CHUNK) -> tuple[bytes, bytes]:
    """(header, file key) for a new file of ``length`` plaintext bytes."""
    file_key, nonce = os.urandom(32), os.urandom(12)
    fields = MAGIC + _FIELDS.pack(chunk, length)
    return fields + nonce + _aesgcm(wrap_key).encrypt(nonce, file_key, fields), file_key


def parse_header(header: bytes, wrap_key: bytes, where: str = "file") -> tuple[int, int, bytes]:
    """(chunk size, plaintext length, file key) of a header; DecryptError if it does not unwrap."""
    from cryptography.exceptions import InvalidTag

    if len(header) < HEADER or not is_encrypted(header):
        raise DecryptError(f"{where} is not an encrypted stored file (or it is truncated)")
    fields = header[:len(MAGIC) + _FIELDS.size]
    chunk, length = _FIELDS.unpack(fields[len(MAGIC):])
    nonce, wrapped = header[len(fields):len(fields) + 12], header[len(fields) + 12:HEADER]
    if not 1024 <= chunk <= 64 * 1024 * 1024:
        raise DecryptError(f"{where}: damaged header")
    try:
        return chunk, length, _aesgcm(wrap_key).decrypt(nonce, wrapped, fields)
    except InvalidTag:
        raise DecryptError(f"cannot decrypt {where}: wrong key for this data folder, or the file is damaged") from None


def sealed_size(length: int, chunk: int = CHUNK) -> int:
    """Bytes on disk of an encrypted file of ``length`` plaintext bytes."""
    return HEADER + length + _chunks(length, chunk) * TAG


def _buffer(size: int) -> io.BytesIO:
    """A zero-filled BytesIO of ``size`` bytes, written through ``getbuffer()`` (no copy on ``getvalue()``)."""
    out = io.BytesIO()
    if size:
        out.seek(size - 1)
        out.write(b"\0")
    return out


def encrypt_bytes(wrap_key: bytes, data: bytes | memoryview, chunk: int = CHUNK) -> bytes:
    """The whole encrypted file of ``data`` (each chunk sealed straight into the output buffer)."""
    length = len(data)
    header, file_key = make_header(wrap_key, length, chunk)
    aead, aad, count = _aesgcm(file_key), header[:len(MAGIC) + _FIELDS.size], _chunks(length, chunk)
    out = _buffer(sealed_size(length, chunk))
    view, src = out.getbuffer(), memoryview(data).cast("B")
    try:
        view[:HEADER] = header
        for index in range(count):
            start = index * chunk
            size = min(chunk, length - start)
            at = HEADER + index * (chunk + TAG)
            aead.encrypt_into(_nonce(index), src[start:start + size], aad + (b"\x01" if index == count - 1 else b"\x00"),
                              view[at:at + size + TAG])
    finally:
        view.release()
        src.release()
    return out.getvalue()


def write_encrypted(dst: BinaryIO, wrap_key: bytes, src: BinaryIO, length: int, chunk: int = CHUNK) -> None:
    """Encrypt ``length`` bytes read from ``src`` into ``dst`` (streaming, one chunk in memory)."""
    header, file_key = make_header(wrap_key, length, chunk)
    dst.write(header)
    aead, aad, count = _aesgcm(file_key), header[:len(MAGIC) + _FIELDS.size], _chunks(length, chunk)
    for index in range(count):
        block = src.read(chunk) if length else b""
        if len(block) != min(chunk, length - index * chunk):
            raise OSError("the source changed size while it was encrypted")
        dst.write(aead.encrypt(_nonce(index), block, aad + (b"\x01" if index == count - 1 else b"\x00")))


def _chunk_views(pieces: Sequence[bytes | memoryview], chunk: int) -> Iterator[memoryview]:
    """The concatenation of ``pieces`` in ``chunk``-sized views (the last one shorter; one empty view for no
    bytes); only a chunk that spans two pieces is copied."""
    carry, sent = bytearray(), False
    for piece in pieces:
        view, pos = memoryview(piece).cast("B"), 0
        if carry:
            pos = min(chunk - len(carry), len(view))
            carry += view[:pos]
            if len(carry) < chunk:
                continue
            yield memoryview(carry)
            carry, sent = bytearray(), True
        while len(view) - pos >= chunk:
            yield view[pos:pos + chunk]
            pos, sent = pos + chunk, True
        carry = bytearray(view[pos:])
    if carry or not sent:
        yield memoryview(carry)


def write_encrypted_pieces(dst: BinaryIO, wrap_key: bytes, pieces: Sequence[bytes | memoryview],
                           chunk: int = CHUNK) -> None:
    """Encrypt the concatenation of ``pieces`` into ``dst`` chunk by chunk (one chunk buffer: no whole-file
    copy), the same file as :func:`encrypt_bytes` of their join."""
    length = sum(len(piece) for piece in pieces)
    header, file_key = make_header(wrap_key, length, chunk)
    dst.write(header)
    aead, aad, count = _aesgcm(file_key), header[:len(MAGIC) + _FIELDS.size], _chunks(length, chunk)
    out = memoryview(bytearray(chunk + TAG))
    for index, block in enumerate(_chunk_views(pieces, chunk)):
        size = len(block)
        aead.encrypt_into(_nonce(index), block, aad + (b"\x01" if index == count - 1 else b"\x00"),
                          out[:size + TAG])
        dst.write(out[:size + TAG])


def decrypt_to_buffer(wrap_key: bytes, data: bytes | memoryview, where: str = "file") -> io.BytesIO:
    """The plaintext of a whole encrypted file held in memory, as a BytesIO at position 0."""
    from cryptography.exceptions import InvalidTag

    chunk, length, file_key = parse_header(bytes(data[:HEADER]), wrap_key, where)
    count = _chunks(length, chunk)
    if len(data) != sealed_size(length, chunk):
        raise DecryptError(f"{where} is damaged or truncated ({len(data)} bytes, {sealed_size(length, chunk)} expected)")
    aead, aad = _aesgcm(file_key), bytes(data[:len(MAGIC) + _FIELDS.size])
    out = _buffer(length)
    view, src = out.getbuffer(), memoryview(data).cast("B")
    try:
        for index in range(count):
            start = index * chunk
            size = min(chunk, length - start)
            at = HEADER + index * (chunk + TAG)
            last = b"\x01" if index == count - 1 else b"\x00"
            if size:
                aead.decrypt_into(_nonce(index), src[at:at + size + TAG], aad + last, view[start:start + size])
            else:
                aead.decrypt(_nonce(index), bytes(src[at:at + TAG]), aad + last)
    except InvalidTag:
        raise DecryptError(f"{where} is damaged (chunk {index} does not authenticate)") from None
    finally:
        view.release()
        src.release()
    out.seek(0)
    return out


def decrypt_bytes(wrap_key: bytes, data: bytes | memoryview, where: str = "file") -> bytes:
    """The plaintext of a whole encrypted file held in memory."""
    return decrypt_to_buffer(wrap_key, data, where).getvalue()


class EncryptedReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext of an encrypted file (decrypts the chunks it touches).

    Not an ``io.BufferedReader`` and without ``name``: pydicom keeps reading deferred elements through it
    instead of reopening the (encrypted) path."""

    def __init__(self, raw: BinaryIO, wrap_key: bytes, where: str = "file") -> None:
        super().__init__()
        self._raw, self._where = raw, where
        self._chunk, self.length, file_key = parse_header(raw.read(HEADER), wrap_key, where)
        self._aead, self._aad = _aesgcm(file_key), MAGIC + _FIELDS.pack(self._chunk, self.length)
        self._count = _chunks(self.length, self._chunk)
        self._pos, self._index, self._plain = 0, -1, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _load(self, index: int) -> bytes:
        from cryptography.exceptions import InvalidTag

        if index != self._index:
            self._raw.seek(HEADER + index * (self._chunk + TAG))
            want = min(self._chunk, self.length - index * self._chunk) + TAG
            sealed = self._raw.read(want)
            last = b"\x01" if index == self._count - 1 else b"\x00"
            try:
                if len(sealed) != want:
                    raise InvalidTag
                self._plain = self._aead.decrypt(_nonce(index), sealed, self._aad + last)
            except InvalidTag:
                raise DecryptError(f"{self._where} is damaged or truncated (chunk {index})") from None
            self._index = index
        return self._plain

    def read(self, size: int | None = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self._pos + size)
        if self._pos >= end:
            return b""
        index, offset = divmod(self._pos, self._chunk)
        plain = self._load(index)
        if end - self._pos <= len(plain) - offset:  # the common case: inside one chunk
            out = plain[offset:offset + end - self._pos]
        else:
            parts = [plain[offset:]]
            done = len(parts[0])
            while self._pos + done < end:
                index += 1
                piece = self._load(index)[:end - self._pos - done]
                parts.append(piece)
                done += len(piece)
            out = b"".join(parts)
        self._pos += len(out)
        return out

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
