"""multipart/related (RFC 2387) for DICOMweb: a streaming reader and a writer."""

from __future__ import annotations

import secrets
from typing import Iterable, Iterator, Sequence

MAX_HEADERS = 64 * 1024  # a part's header block longer than this is refused


def boundary_of(content_type: str) -> bytes:
    """The ``boundary`` parameter of a multipart Content-Type header."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary":
            return value.strip().strip('"').encode("ascii")
    raise ValueError(f"no multipart boundary in Content-Type {content_type!r}")


def iter_parts(chunks: Iterable[bytes], boundary: bytes) -> Iterator[bytes]:
    """Bodies of the parts, in order, as soon as each one is complete (headers dropped)."""
    delim = b"--" + boundary
    sep = b"\r\n" + delim
    buf = bytearray()
    started, scan = False, 0
    for chunk in chunks:
        buf += chunk
        while True:
            if not started:
                idx = buf.find(delim)
                if idx < 0:
                    break
                del buf[: idx + len(delim)]
                started, scan = True, 0
                continue
            if len(buf) < 2:
                break
            if buf[:2] == b"--":
                return
            head_end = buf.find(b"\r\n\r\n", 0, MAX_HEADERS)
            if head_end < 0:
                if len(buf) >= MAX_HEADERS:
                    raise ValueError("multipart part headers too long")
                break
            body_start = head_end + 4
            end = buf.find(sep, max(body_start, scan))
            if end < 0:
                scan = max(body_start, len(buf) - len(sep))
                break
            with memoryview(buf) as view:
                part = bytes(view[body_start:end])  # the one copy (a bytearray slice would be a second)
            yield part
            del buf[: end + len(sep)]  # O(1): CPython bytearrays drop a prefix by moving their start
            scan = 0
    if started:  # a complete body returns above, at its close delimiter: this one was cut short
        raise ValueError("multipart body ended inside a part" if buf.strip() else
                         "multipart body ended before its close delimiter")


def encode_related(parts: Sequence[bytes], content_type: str = "application/dicom") -> tuple[str, bytes]:
    """(boundary, body) of a multipart/related message holding ``parts``."""
    boundary = "telerad-" + secrets.token_hex(16)
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode("ascii")
        out += part
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return boundary, bytes(out)
