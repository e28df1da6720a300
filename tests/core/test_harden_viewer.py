"""The viewer model shows an image that cannot be decoded as a placeholder with its reason (issue 15, item 3)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from app.store import Cache
from app.viewer.loading import load_rest, open_series
from app.viewer.viewport_model import ViewportModel
from tests.fuzz.corpus import _bytes, _load, palette_without_lut


def _series_with_one_bad_slice(shared: Path) -> list[bytes]:
    """Three RLE MR slices of one series; the middle one's RLE header is all 0xFF."""
    files = []
    for i in range(3):
        ds = _load(shared, "compressed/pydicom/MR_small_RLE.dcm", f"2.25.5150{i}")
        ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.InstanceNumber = "2.25.51501.9", "2.25.51501.8", i + 1
        ds.ImagePositionPatient = [0.0, 0.0, float(i)]
        data = bytearray(_bytes(ds))
        if i == 1:
            bot = data.rfind(b"\xe0\x7f\x10\x00") + 12  # Pixel Data (OB, undefined length): offset table item
            at = bot + 8 + struct.unpack_from("<I", data, bot + 4)[0] + 8  # first fragment's RLE header
            data[at : at + 64] = b"\xff" * 64
        files.append(bytes(data))
    return files


@pytest.fixture()
def cache(tmp_path: Path) -> Cache:
    opened = Cache.open(tmp_path / "cache")
    yield opened
    opened.close()


def test_bad_slice_is_a_placeholder_and_the_others_show(shared_data: Path, cache: Cache) -> None:
    for data in _series_with_one_bad_slice(shared_data):
        assert cache.store_bytes(data).status == "imported"
    opened = open_series(cache, "2.25.51501.9")  # the middle (bad) slice is the first shown
    model = ViewportModel()
    model.set_series(opened.info, opened.frames, opened.first)
    assert "invalid number of segments" in (model.frame_error() or "")
    out = np.full(model.display_shape(), 7, np.uint8)
    assert model.render_into(out) is None and not out.any()  # black placeholder
    assert model.current_window() is None
    model.corner_text(None)
    load_rest(opened)  # the rest of the series still loads
    model.state.set_frame(0)
    assert model.frame_error() is None and model.current_window() is not None
    assert model.render_into(np.zeros(model.display_shape(), np.uint8)) is not None
    assert set(opened.frames.errors) == {1}


def test_palette_without_lut_is_a_placeholder(shared_data: Path, cache: Cache) -> None:
    assert cache.store_bytes(palette_without_lut(shared_data, "2.25.51600")).status == "imported"
    opened = open_series(cache, "2.25.51600.1")
    model = ViewportModel()
    model.set_series(opened.info, opened.frames, opened.first)
    assert model.frame_error() == "PALETTE COLOR image without its red palette lookup table"
    assert model.render_into(np.zeros(model.display_shape(), np.uint8)) is None
