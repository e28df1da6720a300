"""Stacks with missing or unevenly spaced slices are resampled onto a regular grid for reformats."""

from __future__ import annotations

import numpy as np

from app.dicom.geometry import VolumeGeometry
from app.dicom.regular import needs_regular_grid, regularize


def _geometry(positions: list[float], step: float, missing: tuple[int, ...] = (), irregular: bool = False) -> VolumeGeometry:
    return VolumeGeometry(origin=(0.0, 0.0, 0.0), direction=((1.0, 0, 0), (0, 1.0, 0), (0, 0, 1.0)),
                          spacing=(1.0, 1.0, step), shape=(len(positions), 2, 2), missing_slices=missing,
                          irregular=irregular, slice_positions=tuple(positions))


def test_missing_slice_is_interpolated_between_its_neighbours() -> None:
    positions = [0.0, 2.0, 4.0, 8.0, 10.0]  # the slice at 6 mm is missing
    array = np.stack([np.full((2, 2), p * 10, np.int16) for p in positions])
    geometry = _geometry(positions, 2.0, missing=(3,))
    assert needs_regular_grid(geometry)
    out, new, notice = regularize(array, geometry)
    assert out.shape == (6, 2, 2) and out.dtype == np.int16
    assert [int(v) for v in out[:, 0, 0]] == [0, 20, 40, 60, 80, 100]
    assert new.shape == (6, 2, 2) and not needs_regular_grid(new)
    assert new.slice_positions == (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)
    assert notice.startswith("1 of 6 slices interpolated")


def test_irregular_spacing_lands_values_at_their_true_distance() -> None:
    positions = [0.0, 1.0, 2.5, 3.0, 4.0]
    array = np.stack([np.full((2, 2), p, np.float32) for p in positions])  # value == distance in mm
    out, new, _ = regularize(array, _geometry(positions, 1.0, irregular=True))
    assert np.allclose(out[:, 1, 1], [0.0, 1.0, 2.0, 3.0, 4.0])
    assert new.spacing[2] == 1.0 and not new.irregular


def test_regular_stacks_are_left_alone() -> None:
    assert not needs_regular_grid(_geometry([0.0, 1.0, 2.0], 1.0))
