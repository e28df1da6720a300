"""A seeded, deterministic mutator of real DICOM files: header elements and pixel data.

``mutate(seed_bytes, rng, uid)`` returns ``(bytes, labels)``: one to three mutations drawn
from :data:`ELEMENT_MUTATIONS` (applied to the parsed data set, written back with pydicom)
and :data:`BYTE_MUTATIONS` (applied to the file bytes: wrong VRs and lengths, truncation,
pixel stream corruption). The same seed bytes, ``random.Random`` state and uid give the same
output, so any case is reproduced from (seed file, case number).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

GARBAGE_NUMBERS = ["abc", "1e999", "nan", "-inf", "", "1\\x", "0", "-1", "99999999999999999", "1,5", " . "]
PHOTOMETRICS = ["MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT",
                "YBR_RCT", "HSV", "", "FOO BAR"]
TRANSFER_SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.5",
                     "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
                     "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.1.99", "1.2.3.4"]
SIZES = [0, 1, 2, 3, 7, 255, 256, 4095, 65535]
BITS = [0, 1, 7, 8, 12, 15, 16, 17, 24, 32, 64, 255]
DS_KEYWORDS = ["RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth", "PixelSpacing",
               "SliceThickness", "ImagePositionPatient", "ImageOrientationPatient", "FrameTime",
               "ImagerPixelSpacing", "SpacingBetweenSlices"]
PALETTE = [f"{c}PaletteColorLookupTable{k}" for c in ("Red", "Green", "Blue") for k in ("Descriptor", "Data")]
PIXEL_MODULE = ["Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames"]


@contextmanager
def lenient() -> Iterator[None]:
    """Let pydicom write (and read back) invalid values while generating cases."""
    from pydicom import config

    saved = config.settings.writing_validation_mode, config.settings.reading_validation_mode
    config.settings.writing_validation_mode = config.settings.reading_validation_mode = config.IGNORE
    try:
        yield
    finally:
        config.settings.writing_validation_mode, config.settings.reading_validation_mode = saved


# -- element mutations (on a Dataset) ------------------------------------------------------------
def _photometric(ds: Any, rng: random.Random) -> str:
    ds.PhotometricInterpretation = rng.choice(PHOTOMETRICS)
    return f"photometric={ds.PhotometricInterpretation!r}"


def _drop_palette(ds: Any, rng: random.Random) -> str:
    gone = [k for k in PALETTE if k in ds and rng.random() < 0.6] or [k for k in PALETTE if k in ds]
    for k in gone:
        delattr(ds, k)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    return f"palette without {len(gone)} LUT elements"


def _palette_descriptor(ds: Any, rng: random.Random) -> str:
    desc = [rng.choice([0, 1, 2, 255, 256, 4096, 65535]), rng.choice([0, 1, 255, 32768, 65535]),
            rng.choice([0, 1, 8, 16, 17, 255, 65535])]
    colour = rng.choice(["Red", "Green", "Blue"])
    setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", desc)
    if rng.random() < 0.5:
        ds.PhotometricInterpretation = "PALETTE COLOR"
    return f"{colour} palette descriptor {desc}"


def _palette_data(ds: Any, rng: random.Random) -> str:
    colour = rng.choice(["Red", "Green", "Blue"])
    setattr(ds, f"{colour}PaletteColorLookupTableData", bytes(rng.choice([0, 1, 2, 3, 511, 4096])))
    ds.PhotometricInterpretation = "PALETTE COLOR"
    return f"{colour} palette data resized"


def _dimension(ds: Any, rng: random.Random) -> str:
    keyword = rng.choice(["Rows", "Columns"])
    value = rng.choice(SIZES + [int(ds.get(keyword) or 1) + rng.choice([-1, 1])])
    setattr(ds, keyword, max(0, min(value, 65535)))
    return f"{keyword}={getattr(ds, keyword)}"


def _bits(ds: Any, rng: random.Random) -> str:
    keyword = rng.choice(["BitsAllocated", "BitsStored", "HighBit"])
    setattr(ds, keyword, rng.choice(BITS))
    return f"{keyword}={getattr(ds, keyword)}"


def _samples(ds: Any, rng: random.Random) -> str:
    ds.SamplesPerPixel = rng.choice([0, 1, 2, 3, 4, 255])
    if rng.random() < 0.5:
        ds.PlanarConfiguration = rng.choice([0, 1, 2])
    return f"samples={ds.SamplesPerPixel}"


def _representation(ds: Any, rng: random.Random) -> str:
    ds.PixelRepresentation = rng.choice([0, 1, 2, 65535])
    return f"pixel representation={ds.PixelRepresentation}"


def _frames(ds: Any, rng: random.Random) -> str:
    ds.NumberOfFrames = rng.choice(["0", "-1", "abc", "2", "3", "10001", "999999", ""])
    return f"frames={ds.NumberOfFrames!r}"


def _bad_ds(ds: Any, rng: random.Random) -> str:
    keyword = rng.choice(DS_KEYWORDS)
    setattr(ds, keyword, rng.choice(GARBAGE_NUMBERS))
    return f"{keyword}={getattr(ds, keyword)!r}"


def _bad_is(ds: Any, rng: random.Random) -> str:
    keyword = rng.choice(["InstanceNumber", "SeriesNumber", "NumberOfFrames"])
    setattr(ds, keyword, rng.choice(GARBAGE_NUMBERS))
    return f"{keyword}={getattr(ds, keyword)!r}"


def _drop(ds: Any, rng: random.Random) -> str:
    keyword = rng.choice(PIXEL_MODULE + ["PixelData", "WindowCenter", "RescaleSlope"])
    if keyword in ds:
        delattr(ds, keyword)
    return f"without {keyword}"


def _lut(ds: Any, rng: random.Random) -> str:
    from pydicom.dataset import Dataset

    item = Dataset()
    item.LUTDescriptor = [rng.choice([0, 1, 256, 4096, 65535]), rng.choice([0, 32768, 65535]), rng.choice([0, 8, 16, 33])]
    item.LUTData = bytes(rng.choice([0, 2, 512, 8192]))
    keyword = rng.choice(["ModalityLUTSequence", "VOILUTSequence"])
    setattr(ds, keyword, [item])
    return f"{keyword} descriptor {item.LUTDescriptor}"


def _voi(ds: Any, rng: random.Random) -> str:
    ds.VOILUTFunction = rng.choice(["SIGMOID", "LINEAR_EXACT", "FOO", ""])
    ds.WindowWidth = rng.choice(["0", "-5", "1", "1e-300", "abc"])
    return f"VOI {ds.VOILUTFunction!r} width {ds.WindowWidth!r}"


def _transfer_syntax(ds: Any, rng: random.Random) -> str:
    ds.file_meta.TransferSyntaxUID = rng.choice(TRANSFER_SYNTAXES)
    return f"transfer syntax {ds.file_meta.TransferSyntaxUID}"


def _overlay(ds: Any, rng: random.Random) -> str:
    ds.add_new(0x60000010, "US", rng.choice([0, 1, 64, 65535]))
    ds.add_new(0x60000011, "US", rng.choice([0, 1, 64, 65535]))
    ds.add_new(0x60000100, "US", rng.choice([0, 1, 8]))
    ds.add_new(0x60000050, "SS", [rng.choice([-32768, 0, 1]), rng.choice([0, 1, 32767])])
    ds.add_new(0x60003000, "OW", bytes(rng.choice([0, 2, 64, 1000])))
    return "overlay plane with odd sizes"


ElementMutation = Callable[[Any, random.Random], str]
ELEMENT_MUTATIONS: list[ElementMutation] = [
    _photometric, _drop_palette, _palette_descriptor, _palette_data, _dimension, _bits, _samples, _representation,
    _frames, _bad_ds, _bad_is, _drop, _lut, _voi, _transfer_syntax, _overlay,
]


# -- byte mutations (on the file) ---------------------------------------------------------------
def _explicit_elements(data: bytes, group: int) -> list[int]:
    """Offsets of plausible explicit-VR little-endian element headers of ``group`` (at most 400)."""
    needle, found, pos = struct.pack("<H", group), [], 131
    while len(found) < 400:
        pos = data.find(needle, pos + 1)
        if pos < 0 or pos + 8 > len(data):
            break
        vr = data[pos + 4 : pos + 6]
        if vr.isalpha() and vr.isupper():
            found.append(pos)
    return found


def _wrong_vr(data: bytearray, rng: random.Random) -> str:
    spots = _explicit_elements(bytes(data), rng.choice([0x0028, 0x0028, 0x0020, 0x0018]))
    if not spots:
        return "wrong VR (no element found)"
    at = rng.choice(spots)
    data[at + 4 : at + 6] = rng.choice([b"XX", b"QQ", b"UN", b"SQ", b"OB", b"DS", b"FD", b"AT", b"zz"])
    return f"VR at {at} -> {bytes(data[at + 4 : at + 6])!r}"


def _wrong_length(data: bytearray, rng: random.Random) -> str:
    spots = _explicit_elements(bytes(data), rng.choice([0x0028, 0x0020, 0x0008]))
    if not spots:
        return "wrong length (no element found)"
    at = rng.choice(spots)
    data[at + 6 : at + 8] = struct.pack("<H", rng.choice([0, 1, 3, 255, 4096, 65535]))
    return f"length at {at} changed"


def _pixel_start(data: bytes) -> int:
    at = data.rfind(b"\xe0\x7f\x10\x00")
    return at if at > 0 else len(data) // 2


def _truncate(data: bytearray, rng: random.Random) -> str:
    start = _pixel_start(bytes(data))
    cut = rng.choice([rng.randrange(132, len(data)), rng.randrange(start, len(data)), start + rng.randrange(0, 64)])
    del data[min(cut, len(data)) :]
    return f"truncated at {cut}"


def _corrupt_pixels(data: bytearray, rng: random.Random) -> str:
    start = _pixel_start(bytes(data))
    head = rng.random() < 0.7  # RLE header / JPEG markers live at the start of the first fragment
    base = start + rng.randrange(12, 96) if head else rng.randrange(start, len(data))
    width = rng.choice([1, 2, 4, 16, 64])
    fill = rng.choice([b"\xff", b"\x00", bytes([rng.randrange(256)]), None])
    for i in range(base, min(base + width, len(data))):
        data[i] = rng.randrange(256) if fill is None else fill[0]
    return f"pixel bytes {base}+{width} overwritten"


def _flip(data: bytearray, rng: random.Random) -> str:
    for _ in range(rng.choice([1, 4, 16])):
        i = rng.randrange(132, len(data))
        data[i] ^= 1 << rng.randrange(8)
    return "random bit flips"


ByteMutation = Callable[[bytearray, random.Random], str]
BYTE_MUTATIONS: list[ByteMutation] = [_wrong_vr, _wrong_length, _truncate, _corrupt_pixels, _corrupt_pixels, _flip]


def _serialise(ds: Any) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=False)
    return out.getvalue()


def mutate(seed: bytes, rng: random.Random, uid: str) -> tuple[bytes, list[str]]:
    """One mutated file from ``seed`` and what was done; its instance UID is ``uid``, its series
    and study UIDs ``uid.1`` and ``uid.2`` (every case is a study of its own)."""
    from pydicom import dcmread

    labels: list[str] = []
    with lenient():
        ds = dcmread(BytesIO(seed), force=True)
        ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID = uid, uid + ".1", uid + ".2"
        if getattr(ds, "file_meta", None) is not None:
            ds.file_meta.MediaStorageSOPInstanceUID = uid
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            mutation = rng.choice(ELEMENT_MUTATIONS)
            try:
                labels.append(mutation(ds, rng))
            except Exception as exc:  # noqa: BLE001 - the generator could not express it: skip
                labels.append(f"{mutation.__name__} skipped ({type(exc).__name__})")
        try:
            data = bytearray(_serialise(ds))
        except Exception as exc:  # noqa: BLE001 - unwritable combination: mutate the original bytes
            labels.append(f"unwritable ({type(exc).__name__}), byte mutations only")
            data = bytearray(seed)
    for _ in range(rng.choice([0, 1, 1, 2]) if labels else rng.choice([1, 2])):
        labels.append(rng.choice(BYTE_MUTATIONS)(data, rng))
    return bytes(data), labels
