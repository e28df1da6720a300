"""multipart/related (RFC 2387) for DICOMweb: a streaming reader and a writer."""

from __future__ import annotations

import secrets
from typing import Iterable, Iterator, Sequence


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
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                break
            body_start = head_end + 4
            end = buf.find(sep, max(body_start, scan))
            if end < 0:
                scan = max(body_start, len(buf) - len(sep))
                break
            yield bytes(buf[body_start:end])
            del buf[: end + len(sep)]
            scan = 0
    if started and buf.strip() not in (b"", b"--", b"--\r\n"):
        raise ValueError("multipart body ended inside a part")


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
