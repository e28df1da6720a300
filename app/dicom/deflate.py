"""Bounded inflation of Deflated Explicit VR Little Endian data sets (decompression bombs).

pydicom inflates a deflated data set whole, in memory, before parsing it. Before it does,
:func:`check_deflated` inflates the stream chunk by chunk, keeping nothing, and refuses a
stream that grows past a cap: the pixel size the header declares plus :data:`HEADROOM`,
and never more than :data:`MAX_INFLATED_BYTES` (deflate is for small objects; images
that large use an image compression transfer syntax).
"""

from __future__ import annotations

import zlib
from io import BytesIO

MAX_INFLATED_BYTES = 64 * 1024**2
HEADROOM = 16 * 1024**2  # attributes other than Pixel Data
PREFIX_BYTES = 256 * 1024  # inflated bytes parsed to find the declared pixel size
_CHUNK = 1024**2


class InflationError(ValueError):
    """A deflated data set is corrupt or inflates beyond what is allowed."""


def _inflate_prefix(stream: bytes | memoryview) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        return inflater.decompress(stream[: PREFIX_BYTES], PREFIX_BYTES)
    except zlib.error as exc:
        raise InflationError(f"corrupt deflated data set: {exc}") from exc


def declared_pixel_bytes(inflated_prefix: bytes) -> int:
    """Native Pixel Data size the header declares (0 when unknown or without pixels)."""
    from pydicom.filereader import read_dataset

    from app.dicom.validate import expected_native_length

    try:
        ds = read_dataset(BytesIO(inflated_prefix), False, True, stop_when=lambda tag, _vr, _len: tag == 0x7FE00010,
                          defer_size=1024)
        return expected_native_length(ds)
    except Exception:  # noqa: BLE001 - a truncated or odd header: fall back to the fixed cap
        return 0


def inflated_size(stream: bytes | memoryview, cap: int) -> int:
    """Size of the inflated ``stream``; InflationError when corrupt or larger than ``cap``."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total, view, pos = 0, memoryview(stream), 0
    try:
        while True:
            if inflater.unconsumed_tail:
                out = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            elif pos < len(view):
                out = inflater.decompress(view[pos : pos + _CHUNK], _CHUNK)
                pos += _CHUNK
            else:
                out = inflater.flush()
            total += len(out)
            if total > cap:
                raise InflationError(f"deflated data set inflates beyond {cap} bytes (decompression bomb)")
            if not out and not inflater.unconsumed_tail and (pos >= len(view) or inflater.eof):
                return total
    except zlib.error as exc:
        raise InflationError(f"corrupt deflated data set: {exc}") from exc


def inflation_cap(stream: bytes | memoryview) -> int:
    """The most ``stream`` may inflate to: declared pixel size + headroom, within the absolute cap."""
    return min(MAX_INFLATED_BYTES, declared_pixel_bytes(_inflate_prefix(stream)) + HEADROOM)


def check_deflated(stream: bytes | memoryview) -> int:
    """Inflated size of a deflated data set (the bytes after File Meta); InflationError if refused."""
    return inflated_size(stream, inflation_cap(stream))


def inflate_frame(fragment: bytes | memoryview, expected: int) -> bytes:
    """One frame of Deflated Image Frame Compression (raw deflate): exactly ``expected`` bytes.

    Inflates at most ``expected + 1`` bytes: a frame larger than its header declares (a
    decompression bomb), a shorter or a corrupt one raises InflationError.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(fragment, expected + 1)  # no flush(): its length is no cap
    except zlib.error as exc:
        raise InflationError(f"corrupt deflated frame: {exc}") from exc
    if len(out) > expected:
        raise InflationError(f"deflated frame inflates beyond {expected} bytes (decompression bomb)")
    if len(out) < expected or not inflater.eof:
        raise InflationError(f"deflated frame inflates to {len(out)} bytes, header declares {expected}")
    return out
