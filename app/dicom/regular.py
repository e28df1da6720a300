"""Put a stack with missing slices or irregular spacing onto a regular grid along the slice normal."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.dicom.geometry import VolumeGeometry


def needs_regular_grid(geometry: VolumeGeometry) -> bool:
    """True when slices are missing or unevenly spaced (a reformat would distort distances)."""
    return bool(geometry.missing_slices) or geometry.irregular


def regularize(array: np.ndarray, geometry: VolumeGeometry) -> tuple[np.ndarray, VolumeGeometry, str]:
    """Resample ``array`` (z, y, x) linearly along the normal onto slices ``spacing[2]`` apart.

    Returns the new array, its geometry and a notice for the reader (what was interpolated).
    Slice k of the result lies at distance ``k * spacing[2]`` from the first slice, which is
    how the reformat places slices; the first and last slices are kept as acquired.
    """
    positions = np.asarray(geometry.slice_positions, dtype=np.float64)
    step = float(geometry.spacing[2])
    if len(positions) != array.shape[0] or step <= 0:
        raise ValueError("slice positions do not match the volume")
    count = int(round((positions[-1] - positions[0]) / step)) + 1
    targets = positions[0] + step * np.arange(count)
    upper = np.clip(np.searchsorted(positions, targets, side="right"), 1, len(positions) - 1)
    lower = upper - 1
    span = positions[upper] - positions[lower]
    weight = np.clip((targets - positions[lower]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    out = np.empty((count, *array.shape[1:]), dtype=array.dtype)
    for k in range(count):
        w = float(weight[k])
        mixed = array[lower[k]] * (1.0 - w) + array[upper[k]] * w
        out[k] = np.rint(mixed) if np.issubdtype(array.dtype, np.integer) else mixed
    acquired = np.min(np.abs(targets[:, None] - positions[None, :]), axis=1) < step * 0.05
    notice = (f"{int((~acquired).sum())} of {count} slices interpolated onto a regular "
              f"{step:.2f} mm grid (missing or unevenly spaced slices)")
    new = replace(geometry, shape=(count, *geometry.shape[1:]), irregular=False, missing_slices=(),
                  slice_positions=tuple(float(t - positions[0]) for t in targets))
    return out, new, notice
