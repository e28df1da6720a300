"""Header extraction and pixel-size validation before any decode."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest

from app.dicom.header import NotDicomError, parse_bytes, read_header
from app.dicom.validate import check_pixel_sizes
from tests.core._store_factory import make_dataset, to_bytes


def _encapsulate(ds: pydicom.Dataset, fragments: list[bytes], offsets: list[int] | None = None) -> None:
    bot = b"".join(struct.pack("<I", o) for o in offsets or [])
    items = [struct.pack("<HHI", 0xFFFE, 0xE000, len(bot)) + bot]
    for fragment in fragments:
        items.append(struct.pack("<HHI", 0xFFFE, 0xE000, len(fragment)) + fragment)
    ds.PixelData = b"".join(items)
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"


def test_native_ok_and_odd_padding() -> None:
    ds = make_dataset(rows=3, columns=3)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = bytes(9) + b"\x00"  # 9 bytes padded to even
    assert check_pixel_sizes(ds, "1.2.840.10008.1.2.1") is None
    ds.PixelData = bytes(12)
    assert "needs 9" in (check_pixel_sizes(ds, "1.2.840.10008.1.2.1") or "")


def test_one_bit_packed() -> None:
    ds = make_dataset(rows=5, columns=5)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
    ds.NumberOfFrames = 3
    ds.PixelData = bytes(10)  # ceil(75 / 8) = 10
    assert check_pixel_sizes(ds, "1.2.840.10008.1.2.1") is None
    ds.PixelData = bytes(20)
    assert check_pixel_sizes(ds, "1.2.840.10008.1.2.1")


def test_no_pixel_data_passes() -> None:
    ds = make_dataset()
    del ds.PixelData
    assert check_pixel_sizes(ds) is None


JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"


def test_encapsulated_checks() -> None:
    ds = make_dataset()
    ds.NumberOfFrames = 2
    _encapsulate(ds, [b"\xff\xd8ab", b"\xff\xd8cd"])
    assert check_pixel_sizes(ds, JPEG_LOSSLESS) is None
    _encapsulate(ds, [b"\xff\xd8ab"])
    assert "1 fragments for 2 frames" in (check_pixel_sizes(ds, JPEG_LOSSLESS) or "")
    _encapsulate(ds, [b"\xff\xd8ab", b"\xff\xd8cd"], offsets=[0])
    assert "basic offset table" in (check_pixel_sizes(ds, JPEG_LOSSLESS) or "")
    _encapsulate(ds, [])
    assert "no fragments" in (check_pixel_sizes(ds, JPEG_LOSSLESS) or "")
    _encapsulate(ds, [b"\xff\xd8ab", b"\xff\xd8cd"])
    ds.PixelData = ds.PixelData[:-1] + b""  # last fragment cut short
    assert check_pixel_sizes(ds, JPEG_LOSSLESS)


def test_native_syntax_with_undefined_length_rejected() -> None:
    ds = make_dataset()
    _encapsulate(ds, [b"abcd"])
    assert "does not match the transfer syntax" in (check_pixel_sizes(ds, "1.2.840.10008.1.2.1") or "")


def test_real_encapsulated_files_pass(shared_data: Path) -> None:
    for rel in ("us/DIRW0007", "mg/GH133.dcm", "compressed/weasis/jpeg2000-multiframe-multifragments.dcm",
                "compressed/pydicom_data/emri_small_RLE.dcm"):
        parsed = parse_bytes((shared_data / rel).read_bytes())
        assert check_pixel_sizes(parsed.dataset, parsed.transfer_syntax) is None, rel


def test_read_header_from_disk(shared_data: Path) -> None:
    header = read_header(shared_data / "mr" / "single" / "MR_small.dcm")
    assert header.modality == "MR" and header.geometry.rows == 64 and header.pixel_length == 64 * 64 * 2
    with open(shared_data / "mr" / "single" / "MR_small.dcm", "rb") as fh:
        fh.seek(header.pixel_offset or 0)
        assert fh.read(8) == pydicom.dcmread(shared_data / "mr" / "single" / "MR_small.dcm").PixelData[:8]
    enc = read_header(shared_data / "us" / "DIRW0007")
    assert enc.encapsulated and enc.pixel_length is None and enc.geometry.number_of_frames == 65


def test_force_read_only_for_real_datasets(shared_data: Path) -> None:
    with pytest.raises(NotDicomError):
        parse_bytes((shared_data / "malformed" / "pydicom" / "zipMR.gz").read_bytes())
    with pytest.raises(NotDicomError):
        parse_bytes(b"\x08\x00" + b"garbage" * 50)
    parsed = parse_bytes((shared_data / "malformed" / "fo_dicom" / "CR-MONO1-10-chest").read_bytes())
    assert not parsed.has_preamble and parsed.transfer_syntax == "1.2.840.10008.1.2"
    assert parsed.dataset.SOPInstanceUID


def test_bare_dataset_roundtrip_offsets() -> None:
    ds = make_dataset()
    data = to_bytes(ds, with_meta=False)
    parsed = parse_bytes(data)
    assert parsed.body_offset == 0 and data[parsed.pixel_offset:parsed.pixel_offset + 32] == ds.PixelData
