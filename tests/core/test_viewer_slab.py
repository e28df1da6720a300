"""Thick-slab MIP / MinIP / average in the 2D viewer: the slab image is numpy's max / min / mean over the slab."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.viewer.series_data import series_from_files
from app.viewer.slab import LABELS, Slab, slab_indices
from app.viewer.viewport_model import ViewportModel


@pytest.fixture(scope="module")
def model(shared_data: Path) -> ViewportModel:
    files = sorted((shared_data / "ct" / "philips_phantom_study1_1mm").glob("I*"))
    m = ViewportModel()
    m.set_series(series_from_files(files), frame=70)
    return m


def test_slab_indices_are_the_slices_within_half_the_thickness() -> None:
    positions = [float(i) * 2.5 for i in range(20)]  # 2.5 mm apart
    assert slab_indices(positions, 10, 10.0) == [8, 9, 10, 11, 12]  # +-5 mm
    assert slab_indices(positions, 0, 10.0) == [0, 1, 2]  # cut at the end of the volume
    assert slab_indices(positions, 5, 1.0) == [5]
    assert slab_indices([None, None], 1, 10.0) == [1]


@pytest.mark.parametrize("mode, reduce", [("mip", np.max), ("minip", np.min), ("avg", np.mean)])
def test_slab_image_equals_numpy_over_the_slab(model: ViewportModel, mode: str, reduce) -> None:  # type: ignore[no-untyped-def]
    model.slab = Slab(mode, 10.0)
    frame = model.state.frame
    positions = model.series.positions()
    picked = [i for i, p in enumerate(positions) if abs(p - positions[frame]) <= 5.0 + 1e-3]
    assert len(picked) == 11  # 1 mm slices: the current one and five either side
    expected = reduce(np.stack([model.frames.get(i) for i in picked]), axis=0)
    shown = model.values()
    assert shown.shape == expected.shape
    if mode == "avg":
        np.testing.assert_allclose(shown, expected, rtol=0, atol=1e-3)
    else:
        assert np.array_equal(shown, expected)
    assert not np.array_equal(shown, model.frames.get(frame))  # the phantom changes along z: a real slab
    assert f"{LABELS[mode]} 10 mm" in model.corner_text(None).bottom_right  # the overlay says so
    model.slab = Slab()
    assert np.array_equal(model.values(), model.frames.get(frame))


def test_slab_mode_and_thickness_keys_cycle() -> None:
    slab = Slab()
    assert [slab.cycle() for _ in range(4)] == ["mip", "minip", "avg", ""]
    assert slab.step(1) == 15.0 and slab.step(-1) == 10.0 and slab.step(-1) == 5.0
    slab.thickness = 50.0
    assert slab.step(1) == 50.0 and slab.label == ""
    slab.mode = "mip"
    assert slab.label == "MIP 50 mm"
