"""The MPR scene: state + reslicer + window/level -> one uint8 image per view (VTK, no Qt).

Only what changed is recomputed: a view's reslice is cached under its grid, slab and
interpolation (moving the crosshair within a plane, or changing the window, reslices
nothing), and its display image under the window as well. While the user drags
(``preview=True``) views are resliced with nearest-neighbour sampling, a slab at half its
sample count and at most ``PREVIEW_PIXELS`` pixels; ``preview=False`` refines them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from app.dicom.geometry import VolumeGeometry
from app.viewer.mpr.geometry import grid_affine
from app.viewer.mpr.planes import PlaneGrid
from app.viewer.mpr.reslice import VolumeReslicer
from app.viewer.mpr.state import MprState, Window

#: Largest preview image (pixels) resliced while interacting.
PREVIEW_PIXELS = 400 * 400


@dataclass
class ViewImage:
    """A view's display pixels and the grid they sample (``grid`` may be coarser than the view)."""

    pixels: np.ndarray  # (h, w) uint8
    grid: PlaneGrid
    preview: bool


def auto_window(values: np.ndarray) -> Window:
    """Window over the 1..99.5 percentiles of a sub-sampled array."""
    step = max(1, int(round((values.size / 2_000_000) ** (1 / 3))))
    sample = values[::step, ::step, ::step] if values.ndim == 3 else values
    lo, hi = np.percentile(sample, [1.0, 99.5])
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    return (float(lo + hi) / 2.0, max(float(hi - lo), 1.0))


def window_to_uint8(values: np.ndarray, window: Window) -> np.ndarray:
    """Linear window (PS3.3 C.11.2.1.2) of modality values to uint8, via the 2D viewer's LUTs."""
    from app.viewer.display import grey_to_uint8

    return grey_to_uint8(values, window)


class MprScene:
    """Renders the views of one volume for any viewport size; Qt-free (used headless too)."""

    def __init__(self, array: np.ndarray, geometry: VolumeGeometry, window: Optional[Window] = None,
                 threads: Optional[int] = None) -> None:
        self.array = array
        self.geometry = geometry
        self.state = MprState(geometry, window=window or auto_window(array))
        self.reslicer = VolumeReslicer(array, grid_affine(geometry), threads=threads)
        self._values: dict[str, tuple[tuple, np.ndarray]] = {}
        self._pixels: dict[str, tuple[tuple, ViewImage]] = {}
        self.reslice_counts: dict[str, int] = {}  # reslices run per view (caching is tested)

    def _grid(self, view: str, width: int, height: int, preview: bool) -> PlaneGrid:
        grid = self.state.grid(view, width, height)
        if preview and width * height > PREVIEW_PIXELS:
            grid = grid.scaled(float(np.sqrt(width * height / PREVIEW_PIXELS)))
        return grid

    def _key(self, view: str, grid: PlaneGrid, preview: bool) -> tuple:
        slab = self.state.slab_samples(view, coarse=preview)
        mode = self.state.slab_mode if slab[0] > 1 else "none"
        return (np.round(np.concatenate([grid.origin, grid.du, grid.dv]), 6).tobytes(),
                grid.width, grid.height, slab, mode, not preview)

    def values(self, view: str, width: int, height: int, preview: bool = False) -> tuple[np.ndarray, PlaneGrid]:
        """Modality values of ``view`` (cached while nothing relevant changed).

        A preview request is served by the refined image when that one is still valid.
        """
        cached = self._values.get(view)
        full = self._grid(view, width, height, False)
        full_key = self._key(view, full, False)
        if cached is not None and cached[0] == full_key:
            return cached[1], full
        grid = self._grid(view, width, height, True) if preview else full
        key = self._key(view, grid, True) if preview else full_key
        if cached is not None and cached[0] == key:
            return cached[1], grid
        _, _, _, slab, mode, linear = key
        values = self.reslicer.reslice(view, grid, slab=slab, mode=mode, linear=linear)
        self.reslice_counts[view] = self.reslice_counts.get(view, 0) + 1
        self._values[view] = (key, values)
        return values, grid

    def image(self, view: str, width: int, height: int, preview: bool = False) -> ViewImage:
        """uint8 display image of ``view`` for a ``width`` x ``height`` viewport."""
        values, grid = self.values(view, width, height, preview)
        key = (id(values), values.ctypes.data, self._values[view][0], self.state.window)
        cached = self._pixels.get(view)
        if cached is not None and cached[0] == key:
            return cached[1]
        image = ViewImage(window_to_uint8(values, self.state.window), grid, not self._values[view][0][5])
        self._pixels[view] = (key, image)
        return image

    def invalidate(self) -> None:
        """Forget cached images (after the volume's voxels changed)."""
        self._values.clear()
        self._pixels.clear()

    def release(self) -> None:
        self.invalidate()
        self.reslicer.release()
