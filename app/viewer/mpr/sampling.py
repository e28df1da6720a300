"""Numpy reference resampler: a plane (or thick slab) of a volume, no VTK.

Slow next to vtkImageReslice (used for display) but simple and exact, so geometry tests and
display-less code can check what a view must show.
"""

from __future__ import annotations

import numpy as np

from app.viewer.mpr.geometry import lps_to_index
from app.viewer.mpr.planes import PlaneGrid


def sample_points(volume: np.ndarray, affine: np.ndarray, lps: np.ndarray, *, linear: bool = True,
                  fill: float = 0.0) -> np.ndarray:
    """Values of the (z, y, x) ``volume`` at LPS points (..., 3); outside -> ``fill``."""
    idx = lps_to_index(affine, lps)
    nk, nj, ni = volume.shape
    i, j, k = idx[..., 0], idx[..., 1], idx[..., 2]
    inside = (i > -0.5) & (i < ni - 0.5) & (j > -0.5) & (j < nj - 0.5) & (k > -0.5) & (k < nk - 0.5)
    if not linear:
        ii = np.clip(np.rint(i), 0, ni - 1).astype(int)
        jj = np.clip(np.rint(j), 0, nj - 1).astype(int)
        kk = np.clip(np.rint(k), 0, nk - 1).astype(int)
        out = volume[kk, jj, ii].astype(np.float64)
        return np.where(inside, out, fill)
    i = np.clip(i, 0, ni - 1)
    j = np.clip(j, 0, nj - 1)
    k = np.clip(k, 0, nk - 1)
    i0, j0, k0 = (np.minimum(np.floor(a).astype(int), n - 2 if n > 1 else 0) for a, n in ((i, ni), (j, nj), (k, nk)))
    fi, fj, fk = i - i0, j - j0, k - k0
    i1, j1, k1 = np.minimum(i0 + 1, ni - 1), np.minimum(j0 + 1, nj - 1), np.minimum(k0 + 1, nk - 1)
    out = np.zeros(i.shape, np.float64)
    for kk, wk in ((k0, 1 - fk), (k1, fk)):
        for jj, wj in ((j0, 1 - fj), (j1, fj)):
            for ii, wi in ((i0, 1 - fi), (i1, fi)):
                out += wk * wj * wi * volume[kk, jj, ii]
    return np.where(inside, out, fill)


def sample_grid(volume: np.ndarray, affine: np.ndarray, grid: PlaneGrid, *, linear: bool = True,
                slab: tuple[int, float] = (1, 0.0), mode: str = "none", fill: float = 0.0) -> np.ndarray:
    """(height, width) image of ``grid``; ``slab`` = (samples, spacing mm) combined by ``mode``.

    ``mode``: "mip" (maximum), "minip" (minimum), "mean"; samples are centred on the plane.
    """
    points = grid.points()
    count, spacing = slab
    if count <= 1 or mode == "none":
        return sample_points(volume, affine, points, linear=linear, fill=fill)
    normal = np.cross(grid.du, grid.dv)
    normal /= np.linalg.norm(normal)
    offsets = (np.arange(count) - (count - 1) / 2.0) * spacing
    layers = np.stack([sample_points(volume, affine, points + o * normal, linear=linear, fill=fill)
                       for o in offsets])
    if mode == "mip":
        return layers.max(axis=0)
    if mode == "minip":
        return layers.min(axis=0)
    if mode == "mean":
        return layers.mean(axis=0)
    raise ValueError(f"unknown slab mode {mode!r}")
