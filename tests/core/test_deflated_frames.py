"""Deflated Image Frame Compression (1.2.840.10008.1.2.8.1): decoded like the native original, bombs refused."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from app.dicom.codecs import DecodeError, decode_all, decode_frame, read_dataset
from app.dicom.deflate import InflationError, inflate_frame
from app.dicom.syntaxes import DEFLATED_IMAGE_FRAME, lossless

LIVER = "compressed/pydicom_data_git/liver_deflate.dcm"


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def _with_frames(shared_data: Path, frames: list[bytes]):
    from pydicom.encaps import encapsulate

    ds = read_dataset(shared_data / LIVER)
    ds.PixelData = encapsulate(frames)
    return ds


def _manual(shared_data: Path) -> np.ndarray:
    """Each fragment inflated by hand, bits unpacked (Bits Allocated 1, LSB first)."""
    from pydicom import dcmread
    from pydicom.encaps import generate_frames

    ds = dcmread(shared_data / LIVER)
    n, rows, cols = int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns)
    frames = [np.unpackbits(np.frombuffer(zlib.decompress(f, -15), np.uint8), bitorder="little")[: rows * cols]
              for f in generate_frames(ds.PixelData, number_of_frames=n)]
    return np.stack(frames).reshape(n, rows, cols)


def test_liver_frames_match_the_native_original_and_a_manual_inflate(shared_data: Path) -> None:
    from pydicom import dcmread

    ds = read_dataset(shared_data / LIVER)
    assert ds.file_meta.TransferSyntaxUID == DEFLATED_IMAGE_FRAME and ds.BitsAllocated == 1
    ours = decode_all(shared_data / LIVER)
    assert ours.shape == (int(ds.NumberOfFrames), ds.Rows, ds.Columns)
    native = dcmread(shared_data / "seg/liver.dcm").pixel_array  # same segmentation, Explicit VR LE
    assert np.array_equal(ours, native)
    assert np.array_equal(ours, _manual(shared_data))
    assert 0 < ours.sum() < ours.size  # a mask, not blank
    assert np.array_equal(decode_frame(shared_data / LIVER, 2), ours[2])
    assert DEFLATED_IMAGE_FRAME in lossless()


def test_bomb_shaped_frame_is_refused(shared_data: Path) -> None:
    expected = 512 * 512 // 8
    bomb = _deflate(bytes(64 * 1024**2))  # 64 MiB of zeros in ~64 KiB
    with pytest.raises(InflationError, match="decompression bomb"):
        inflate_frame(bomb, expected)
    ds = _with_frames(shared_data, [bomb, bomb, bomb])
    with pytest.raises(DecodeError, match="decompression bomb"):
        decode_frame(ds, 0)


@pytest.mark.parametrize("frame", [_deflate(bytes(100)), b"\xff\xfe not deflate", _deflate(bytes(32768))[:-8]])
def test_short_or_corrupt_frame_raises_decode_error(shared_data: Path, frame: bytes) -> None:
    ds = _with_frames(shared_data, [frame, frame, frame])
    with pytest.raises(DecodeError):
        decode_all(ds)
