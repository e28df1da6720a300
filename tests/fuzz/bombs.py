"""Amplification inputs of several shapes, written to disk without ever holding them inflated.

Each generator writes a small file that claims (or inflates to) hundreds of MiB: deflated
pixel data matching a huge declared size, a huge element hidden before or after small pixel
data, a huge multi-frame, a corrupt deflate stream, encapsulated data declaring a giant
image, and an element length far beyond the file.
"""

from __future__ import annotations

import struct
import zlib

from pydicom.uid import DeflatedExplicitVRLittleEndian
from collections.abc import Callable
from pathlib import Path

DEFLATED = DeflatedExplicitVRLittleEndian
EXPLICIT_LE = "1.2.840.10008.1.2.1"
RLE = "1.2.840.10008.1.2.5"
MIB = 1024**2
_ZEROS = bytes(MIB)


def _header(ts: str, rows: int, cols: int, bits: int = 16, frames: int = 1, seed: int = 0) -> tuple[bytes, bytes]:
    """(File Meta bytes after the preamble, data set bytes up to Pixel Data) for a tiny image header."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info

    uid = f"2.25.{9000 + seed}{rows}{cols}{frames}"
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", uid + ".1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid + ".2", uid + ".3"
    ds.PatientID, ds.Modality = "BOMB", "OT"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = rows, cols, bits, bits, bits - 1
    ds.PixelRepresentation = 0
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    buf = DicomBytesIO()
    write_file_meta_info(buf, meta, enforce_standard=True)
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    return buf.getvalue(), body.getvalue()


def _element(group: int, elem: int, vr: bytes, length: int) -> bytes:
    return struct.pack("<HH", group, elem) + vr + b"\0\0" + struct.pack("<I", length)


def _zero_blocks(packer: "zlib._Compress", mib: int) -> bytes:
    """``mib`` MiB of deflated zeros: one full-flush block (no back-reference) repeated."""
    lead = packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(_ZEROS) + packer.flush(zlib.Z_FULL_FLUSH)
    return lead + block * mib


def _write(path: Path, meta: bytes, parts: list[bytes | int], deflate: bool = True) -> Path:
    """Preamble, File Meta, then ``parts`` (bytes, or an int: that many MiB of zeros), deflated or not."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS) if deflate else None
    with open(path, "wb") as fh:
        fh.write(b"\0" * 128 + b"DICM" + meta)
        for part in parts:
            if packer is None:
                fh.write(bytes(part * MIB) if isinstance(part, int) else part)
            else:
                fh.write(_zero_blocks(packer, part) if isinstance(part, int) else packer.compress(part))
        if packer is not None:
            fh.write(packer.flush())
    return path


def consistent(path: Path) -> Path:
    """16384 x 16384 x 16 bit of zeros, deflated: the declared size matches, 512 MiB inflated."""
    meta, head = _header(DEFLATED, 16384, 16384)
    size = 16384 * 16384 * 2
    return _write(path, meta, [head, _element(0x7FE0, 0x0010, b"OW", size), size // MIB])


def hidden_before(path: Path) -> Path:
    """A 64 x 64 image with a 512 MiB private OB element before Pixel Data, deflated."""
    meta, head = _header(DEFLATED, 64, 64, bits=8, seed=1)
    parts = [head, _element(0x0009, 0x1010, b"OB", 512 * MIB), 512, _element(0x7FE0, 0x0010, b"OB", 4096), bytes(4096)]
    return _write(path, meta, parts)


def trailing(path: Path) -> Path:
    """A 64 x 64 image followed by a 512 MiB element after Pixel Data, deflated."""
    meta, head = _header(DEFLATED, 64, 64, bits=8, seed=2)
    parts = [head, _element(0x7FE0, 0x0010, b"OB", 4096), bytes(4096),
             _element(0x7FE1, 0x1010, b"OB", 512 * MIB), 512]
    return _write(path, meta, parts)


def many_frames(path: Path) -> Path:
    """2,000 frames of 512 x 512 x 16 bit declared and present (1 GiB inflated), deflated."""
    meta, head = _header(DEFLATED, 512, 512, frames=2000, seed=3)
    size = 512 * 512 * 2 * 2000
    return _write(path, meta, [head, _element(0x7FE0, 0x0010, b"OW", size), size // MIB])


def corrupt_stream(path: Path) -> Path:
    """A deflated stream cut and patched with garbage after the first few KiB."""
    meta, head = _header(DEFLATED, 256, 256, seed=4)
    packed = zlib.compress(head + _element(0x7FE0, 0x0010, b"OW", 131072) + bytes(131072))[2:-4]
    with open(path, "wb") as fh:
        fh.write(b"\0" * 128 + b"DICM" + meta + packed[:40] + b"\xff" * 64 + packed[40:])
    return path


def forged_encapsulated(path: Path) -> Path:
    """RLE Lossless declaring 32768 x 32768 x 16 bit (2 GiB) with one 64-byte fragment."""
    meta, head = _header(RLE, 32768, 32768, seed=5)
    fragment = struct.pack("<16I", 1, 64, *([0] * 14))
    items = (_element(0x7FE0, 0x0010, b"OB", 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0)
             + struct.pack("<HHI", 0xFFFE, 0xE000, len(fragment)) + fragment + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    return _write(path, meta, [head, items], deflate=False)


def huge_length(path: Path) -> Path:
    """A native image whose private element before Pixel Data declares 0xFFFFFFF0 bytes."""
    meta, head = _header(EXPLICIT_LE, 64, 64, bits=8, seed=6)
    parts = [head, _element(0x0009, 0x1010, b"OB", 0xFFFFFFF0), bytes(1024),
             _element(0x7FE0, 0x0010, b"OB", 4096), bytes(4096)]
    return _write(path, meta, parts, deflate=False)


SHAPES: dict[str, Callable[[Path], Path]] = {
    f.__name__: f for f in (consistent, hidden_before, trailing, many_frames, corrupt_stream, forged_encapsulated,
                            huge_length)
}


def write_all(folder: Path) -> list[Path]:
    """Every shape as ``folder/<name>.dcm``."""
    return [make(folder / f"{name}.dcm") for name, make in SHAPES.items()]


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    for p in write_all(Path(sys.argv[1])):
        print(p, p.stat().st_size)
