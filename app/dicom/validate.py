"""Check declared pixel sizes against the Pixel Data actually present, before any decode."""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

PIXEL_DATA_TAG = 0x7FE00010
UNDEFINED_LENGTH = 0xFFFFFFFF
MAX_DIMENSION = 65535
MAX_FRAMES = 10000
MAX_DECLARED_BYTES = 4 * 1024**3
VALID_BITS_ALLOCATED = {1, 8, 16, 32, 64}
VALID_SAMPLES = {1, 3, 4}
#: Encapsulated data declaring more than this many decoded bytes per compressed byte (and more
#: than AMPLIFICATION_FLOOR in all) is refused: no real codec gets there, a forged header does.
MAX_COMPRESSION_RATIO = 1000
AMPLIFICATION_FLOOR = 256 * 1024**2


def _int(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    """An integer attribute, ``default`` if absent; raises ValueError if present but invalid."""
    try:
        value = ds.get(keyword)
    except Exception as exc:
        raise ValueError(f"invalid {keyword}") from exc
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid {keyword} {str(value)[:20]!r}") from exc


def _transfer_syntax(ds: Dataset, transfer_syntax: str | None) -> str | None:
    if transfer_syntax:
        return transfer_syntax
    meta = getattr(ds, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) or None if meta else None


def _declared(ds: Dataset) -> tuple[int, int, int, int, int]:
    """(rows, columns, frames, samples, bits allocated); ValueError with a reason if absurd."""
    rows, cols = _int(ds, "Rows"), _int(ds, "Columns")
    bits = _int(ds, "BitsAllocated")
    if rows is None or cols is None or bits is None:
        raise ValueError("Pixel Data without Rows/Columns/Bits Allocated")
    frames = _int(ds, "NumberOfFrames", 1)
    samples = _int(ds, "SamplesPerPixel", 1)
    stored = _int(ds, "BitsStored", bits)
    assert frames is not None and samples is not None and stored is not None
    if not (0 < rows <= MAX_DIMENSION and 0 < cols <= MAX_DIMENSION):
        raise ValueError(f"absurd dimensions {rows}x{cols}")
    if not 0 < frames <= MAX_FRAMES:
        raise ValueError(f"absurd number of frames {frames}")
    if samples not in VALID_SAMPLES:
        raise ValueError(f"unsupported samples per pixel {samples}")
    if bits not in VALID_BITS_ALLOCATED:
        raise ValueError(f"unsupported bits allocated {bits}")
    if not 0 < stored <= bits:
        raise ValueError(f"bits stored {stored} not within bits allocated {bits}")
    return rows, cols, frames, samples, bits


def expected_native_length(ds: Dataset) -> int:
    """Bytes a native (uncompressed) Pixel Data value must hold, without padding."""
    rows, cols, frames, samples, bits = _declared(ds)
    if samples == 3 and str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
        samples = 2  # chroma subsampled horizontally: 2 values per pixel
    return math.ceil(rows * cols * frames * samples * bits / 8)


def _check_native(ds: Dataset, actual: int) -> str | None:
    expected = expected_native_length(ds)
    if actual == expected or (expected % 2 == 1 and actual == expected + 1):
        return None
    return f"Pixel Data holds {actual} bytes, declared size needs {expected}"


def _fragments_end_inside(buffer: bytes, offsets: list[int]) -> bool:
    for offset in offsets:
        (length,) = struct.unpack_from("<I", buffer, offset + 4)
        if offset + 8 + length > len(buffer):
            return False
    return True


def _check_encapsulated(ds: Dataset, buffer: bytes) -> str | None:
    from pydicom.encaps import parse_basic_offsets, parse_fragments

    rows, cols, frames, samples, bits = _declared(ds)
    declared = rows * cols * frames * samples * bits // 8
    if declared > AMPLIFICATION_FLOOR and declared > MAX_COMPRESSION_RATIO * len(buffer):
        return f"declared image size {declared} bytes is implausible for {len(buffer)} bytes of compressed data"
    try:
        offsets = parse_basic_offsets(buffer)
        bot_end = 8 + 4 * len(offsets)
        count, positions = parse_fragments(buffer[bot_end:])
    except (ValueError, struct.error) as exc:
        return f"malformed encapsulated Pixel Data: {exc}"
    if count == 0:
        return "encapsulated Pixel Data has no fragments"
    if not _fragments_end_inside(buffer[bot_end:], positions):
        return "encapsulated Pixel Data fragment runs past the end of the data"
    if count < frames:
        return f"encapsulated Pixel Data has {count} fragments for {frames} frames"
    if offsets and len(offsets) != frames:
        return f"basic offset table has {len(offsets)} entries for {frames} frames"
    return None


def _is_encapsulated(transfer_syntax: str | None, undefined_length: bool) -> bool:
    """Whether Pixel Data must be encapsulated; unknown syntaxes go by the value length."""
    from pydicom.uid import UID

    try:
        return bool(UID(transfer_syntax).is_encapsulated) if transfer_syntax else undefined_length
    except ValueError:  # not a transfer syntax pydicom knows (e.g. a newer one)
        return undefined_length


def check_pixel_sizes(ds: Dataset, transfer_syntax: str | None = None) -> str | None:
    """None if the declared image size is sane and matches Pixel Data, else the reason.

    Datasets without Pixel Data pass. ``transfer_syntax`` overrides the File Meta one
    (needed for files read without File Meta).
    """
    raw = ds.get_item(PIXEL_DATA_TAG, keep_deferred=True)
    if raw is None:
        return None
    ts = _transfer_syntax(ds, transfer_syntax)
    length = getattr(raw, "length", None)
    undefined = length == UNDEFINED_LENGTH or getattr(raw, "is_undefined_length", False)
    encapsulated = _is_encapsulated(ts, undefined)
    try:
        rows, cols, frames, samples, bits = _declared(ds)
        if rows * cols * frames * samples * bits / 8 > MAX_DECLARED_BYTES:
            return f"declared pixel size over {MAX_DECLARED_BYTES} bytes"
        if encapsulated != undefined:
            return "Pixel Data encoding does not match the transfer syntax"
        if not encapsulated and length is not None and getattr(raw, "value", None) is None:
            return _check_native(ds, int(length))  # deferred: the header length is enough
        value = ds.PixelData
        if not isinstance(value, (bytes, bytearray)):
            return "Pixel Data is not a byte string"
        return _check_encapsulated(ds, bytes(value)) if encapsulated else _check_native(ds, len(value))
    except ValueError as exc:
        return str(exc)
