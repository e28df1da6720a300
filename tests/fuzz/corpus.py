"""Regression corpus: every crasher found, rebuilt deterministically from the shared seed files.

Two kinds: the issue's five classes as named builders (:data:`NAMED`), and fuzz cases
replayed by number (:data:`FUZZ_CASES`, see tests/fuzz/campaign.py) that crashed before the
fixes. Each case must go through :func:`tests.fuzz.runner.run_case` without a crash.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

from tests.fuzz.mutate import lenient

#: Fuzz case numbers that crashed (traceback or Rust panic) before the fixes, all seeds.
FUZZ_CASES = [2, 22, 131, 136, 147, 153, 158, 160, 162, 165, 166, 175, 180, 186, 187, 191, 203, 226, 1744]


def _load(shared: Path, name: str, uid: str):  # type: ignore[no-untyped-def]
    from pydicom import dcmread

    ds = dcmread(shared / name)
    ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID = uid, uid + ".1", uid + ".2"
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    return ds


def _bytes(ds) -> bytes:  # type: ignore[no-untyped-def]
    out = BytesIO()
    with lenient():
        ds.save_as(out, enforce_file_format=False)
    return out.getvalue()


def palette_without_lut(shared: Path, uid: str) -> bytes:
    """PALETTE COLOR with every lookup table element removed."""
    ds = _load(shared, "us/OBXXXX1A.dcm", uid)
    for tag in [t for t in ds.keys() if 0x00281100 <= t <= 0x00281223]:
        del ds[tag]
    return _bytes(ds)


def palette_descriptor_65535(shared: Path, uid: str) -> bytes:
    """Red descriptor [65535, 0, 16] over 8-bit, 256-entry data (numpy 'uint0' in pydicom)."""
    ds = _load(shared, "us/OBXXXX1A.dcm", uid)
    ds.RedPaletteColorLookupTableDescriptor = [65535, 0, 16]
    return _bytes(ds)


def rle_panic(shared: Path, uid: str) -> bytes:
    """RLE frame declared 64 x 7: pylibjpeg-rle indexes past its buffer and panics (a Rust
    BaseException that pydicom's plugin loop does not catch)."""
    ds = _load(shared, "compressed/pydicom/MR_small_RLE.dcm", uid)
    ds.Columns = 7
    return _bytes(ds)


def unknown_vr_pixel_module(shared: Path, uid: str) -> bytes:
    """Photometric Interpretation (0028,0004) with VR 'XX'."""
    data = bytearray(_bytes(_load(shared, "ct/single/CT_small.dcm", uid)))
    at = data.find(b"\x28\x00\x04\x00CS")
    data[at + 4 : at + 6] = b"XX"
    return bytes(data)


def unparseable_ds(shared: Path, uid: str) -> bytes:
    """Rescale Slope, Window Center and Pixel Spacing whose bytes are not decimal strings."""
    ds = _load(shared, "ct/single/CT_small.dcm", uid)
    ds.RescaleSlope, ds.WindowCenter, ds.PixelSpacing = "1.000000", "40.0000", "0.5000\\0.5000"
    data = bytearray(_bytes(ds))
    for tag, junk in ((b"\x28\x00\x53\x10", b"abc"), (b"\x28\x00\x50\x10", b"1,5"), (b"\x28\x00\x30\x00", b"x\\y")):
        at = data.find(tag + b"DS")
        length = struct.unpack_from("<H", data, at + 6)[0]
        data[at + 8 : at + 8 + length] = junk.ljust(length)
    return bytes(data)


NAMED: dict[str, Callable[[Path, str], bytes]] = {
    f.__name__: f for f in (palette_without_lut, palette_descriptor_65535, rle_panic, unknown_vr_pixel_module,
                            unparseable_ds)
}
