"""The viewer's shortcuts give the same answers as the slow, obvious computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.dicom.pixels import voi_unit
from app.dicom.series import read_slice_refs
from app.viewer.display import grey_table
from app.viewer.viewport_model import _may_have_overlays


@pytest.mark.parametrize("dtype", ["int16", "uint16"])
@pytest.mark.parametrize("window", [(40.0, 80.0), (-600.0, 1500.0), (300.5, 1.0), (70000.0, 10.0), (-40000.0, 5.0)])
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT"])
def test_linear_table_equals_full_table(dtype: str, window: tuple[float, float], invert: bool, function: str) -> None:
    dt = np.dtype(dtype)
    domain = np.arange(2 ** 16, dtype=dt.str.replace("i", "u")).view(dt)
    unit = voi_unit(domain, window, function)
    expected = np.rint((1.0 - unit if invert else unit) * 255.0).astype(np.uint8)
    assert np.array_equal(grey_table(dtype, window, function, invert), expected)


def test_overlay_precheck_finds_overlays_and_rules_out_plain_slices(shared_data: Path) -> None:
    (with_overlay,) = read_slice_refs(shared_data / "mr" / "single" / "MR-SIEMENS-DICOM-WithOverlays.dcm")
    assert with_overlay.pixel_offset is not None and _may_have_overlays(with_overlay)
    plain = read_slice_refs(shared_data / "ct" / "philips_phantom_study1_1mm" / "I10")[0]
    assert plain.pixel_offset is not None and not _may_have_overlays(plain)
