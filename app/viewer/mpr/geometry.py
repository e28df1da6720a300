"""Voxel index <-> patient LPS for MPR, gantry-tilt shear included (numpy only).

A volume's voxel (i = column, j = row, k = slice) sits at
``origin + i*dx*row_cosine + j*dy*column_cosine + k*slice_step`` where ``slice_step`` goes
from one slice centre to the next. For a gantry-tilted series the slice step is not along the
slice normal (the slices are sheared), so :attr:`VolumeGeometry.affine` (which ignores tilt)
puts every slice but the first in the wrong place; :func:`grid_affine` does not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from app.dicom.geometry import VolumeGeometry


def slice_step(geometry: VolumeGeometry) -> np.ndarray:
    """LPS vector (mm) from one slice centre to the next, along the stack direction."""
    normal = np.asarray(geometry.direction[2], float)
    stack = np.asarray(geometry.stack_direction, float)
    along = float(stack @ normal)
    if geometry.shape[0] < 2 or along < 1e-3:
        return normal * geometry.spacing[2]
    return stack * (geometry.spacing[2] / along)


def grid_affine(geometry: VolumeGeometry) -> np.ndarray:
    """4x4 matrix: homogeneous voxel index (i, j, k, 1) -> LPS millimetres, shear included."""
    out = np.eye(4)
    out[:3, 0] = np.asarray(geometry.direction[0], float) * geometry.spacing[0]
    out[:3, 1] = np.asarray(geometry.direction[1], float) * geometry.spacing[1]
    out[:3, 2] = slice_step(geometry)
    out[:3, 3] = geometry.origin
    return out


def index_to_lps(affine: np.ndarray, ijk: Sequence[float] | np.ndarray) -> np.ndarray:
    """Voxel index/indices (..., 3) as (i, j, k) -> LPS (..., 3)."""
    ijk = np.asarray(ijk, float)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def lps_to_index(affine: np.ndarray, lps: Sequence[float] | np.ndarray) -> np.ndarray:
    """LPS point(s) (..., 3) -> fractional voxel index (..., 3) as (i, j, k)."""
    inv = np.linalg.inv(affine)
    return np.asarray(lps, float) @ inv[:3, :3].T + inv[:3, 3]


def volume_corners(geometry: VolumeGeometry) -> np.ndarray:
    """The 8 corner voxel centres in LPS, (8, 3)."""
    n_k, n_j, n_i = geometry.shape
    ijk = np.array([[i, j, k] for i in (0, n_i - 1) for j in (0, n_j - 1) for k in (0, n_k - 1)], float)
    return index_to_lps(grid_affine(geometry), ijk)


def volume_centre(geometry: VolumeGeometry) -> np.ndarray:
    """LPS centre of the voxel grid."""
    n_k, n_j, n_i = geometry.shape
    return index_to_lps(grid_affine(geometry), [(n_i - 1) / 2.0, (n_j - 1) / 2.0, (n_k - 1) / 2.0])


@dataclass(frozen=True)
class RegularGrid:
    """An LPS-axis-aligned grid: voxel (i, j, k) at ``origin + (i, j, k) * spacing``."""

    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    size: tuple[int, int, int]  # (nx, ny, nz)

    @property
    def voxels(self) -> int:
        return int(np.prod(self.size))


def regular_grid(geometry: VolumeGeometry, max_voxels: int | None = None, min_spacing: float = 0.0) -> RegularGrid:
    """Axis-aligned grid covering the (possibly oblique or sheared) volume, isotropic spacing.

    Spacing starts at the finest voxel spacing (at least ``min_spacing``) and grows until the
    grid holds at most ``max_voxels`` (default: as many as the source volume).
    """
    corners = volume_corners(geometry)
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    extent = np.maximum(hi - lo, 1e-6)
    budget = max_voxels or int(np.prod(geometry.shape))
    step = max(min(geometry.spacing), min_spacing, 1e-3)
    while True:
        size = np.floor(extent / step).astype(int) + 1
        if int(np.prod(size)) <= budget:
            break
        step *= (np.prod(size) / budget) ** (1 / 3) * 1.001
    return RegularGrid(tuple(float(v) for v in lo), (step, step, step), tuple(int(v) for v in size))


def deshear(array: np.ndarray, geometry: VolumeGeometry, fill: float | None = None) -> VolumeGeometry:
    """Resample a gantry-tilted (z, y, x) volume in place onto its orthogonal grid.

    Slice k is shifted in its own plane by the in-plane part of ``k * slice_step`` (bilinear),
    so the slices stack along the normal; returns the new, untilted geometry. Pixels shifted
    in from outside get ``fill`` (default: the volume minimum). Memory: one slice extra.
    """
    step = slice_step(geometry)
    row, col, normal = (np.asarray(v, float) for v in geometry.direction)
    shift_i = float(step @ row) / geometry.spacing[0]
    shift_j = float(step @ col) / geometry.spacing[1]
    if abs(shift_i) < 1e-6 and abs(shift_j) < 1e-6:
        return geometry
    fill_value = float(array.min()) if fill is None else float(fill)
    for k in range(array.shape[0]):
        _shift_slice(array[k], k * shift_j, k * shift_i, fill_value)
    along = float(step @ normal)
    return replace(geometry, tilt_degrees=0.0, stack_direction=tuple(normal),
                   spacing=(geometry.spacing[0], geometry.spacing[1], along))


def _shift_slice(image: np.ndarray, dj: float, di: float, fill: float) -> None:
    """image[j, i] <- image[j - dj, i - di] (bilinear), in place; outside -> fill."""
    rows, cols = image.shape
    src = image.astype(np.float32)
    out = np.full_like(src, fill)
    j0, fj = int(np.floor(-dj)), float(-dj - np.floor(-dj))
    i0, fi = int(np.floor(-di)), float(-di - np.floor(-di))
    padded = np.full((rows + 2, cols + 2), fill, np.float32)
    padded[1:-1, 1:-1] = src
    acc = np.zeros_like(src)
    for (a, b, w) in ((0, 0, (1 - fj) * (1 - fi)), (1, 0, fj * (1 - fi)), (0, 1, (1 - fj) * fi), (1, 1, fj * fi)):
        if w == 0.0:
            continue
        acc += w * _window(padded, j0 + a, i0 + b, rows, cols, fill)
    out[...] = acc
    if np.issubdtype(image.dtype, np.integer):
        np.rint(out, out=out)
    image[...] = out.astype(image.dtype)


def _window(padded: np.ndarray, dj: int, di: int, rows: int, cols: int, fill: float) -> np.ndarray:
    """padded[1 + j + dj, 1 + i + di] for every (j, i), fill outside."""
    out = np.full((rows, cols), fill, np.float32)
    js, je = max(0, -dj - 1), min(rows, rows + 1 - dj)
    is_, ie = max(0, -di - 1), min(cols, cols + 1 - di)
    if js < je and is_ < ie:
        out[js:je, is_:ie] = padded[js + 1 + dj:je + 1 + dj, is_ + 1 + di:ie + 1 + di]
    return out
