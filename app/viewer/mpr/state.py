"""Qt-free state of the MPR layout: crosshair centre, plane orientations, zoom, slab, window.

Every view has its own orthonormal frame (rows: u, v, normal). Rotating the crosshair in a
view turns the two *other* planes about that view's normal, through the centre (oblique);
doing it again in a second view gives a double-oblique reformat. The three normals stay
mutually orthogonal throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from app.dicom.geometry import VolumeGeometry
from app.viewer.mpr.geometry import volume_centre, volume_corners
from app.viewer.mpr.planes import BASE_AXES, VIEWS, Plane, PlaneGrid, plane_grid, rotation

SLAB_MODES = ("none", "mip", "minip", "mean")
Window = tuple[float, float]


def _base_frames() -> dict[str, np.ndarray]:
    frames = {}
    for view, (u, v) in BASE_AXES.items():
        u_, v_ = np.asarray(u, float), np.asarray(v, float)
        frames[view] = np.stack([u_, v_, np.cross(u_, v_)])
    return frames


@dataclass
class MprState:
    """What the three MPR views show; ``geometry`` is the loaded volume's."""

    geometry: VolumeGeometry
    centre: np.ndarray = field(default=None)  # type: ignore[assignment]
    look_at: np.ndarray = field(default=None)  # type: ignore[assignment]
    frames: dict[str, np.ndarray] = field(default_factory=_base_frames)
    zoom: float = 1.0  # 1 = the whole volume fits the view
    slab_mm: float = 0.0
    slab_mode: str = "none"
    window: Optional[Window] = None

    def __post_init__(self) -> None:
        if self.centre is None:
            self.centre = volume_centre(self.geometry)
        if self.look_at is None:
            self.look_at = volume_centre(self.geometry)

    # -- planes ---------------------------------------------------------------------------
    def plane(self, view: str) -> Plane:
        """The plane ``view`` shows: through the crosshair centre, with its own frame."""
        f = self.frames[view]
        return Plane(np.asarray(self.centre, float).copy(), f[0].copy(), f[1].copy())

    def extent_mm(self) -> float:
        """Longest side of the volume's LPS bounding box plus 5% (mm): the field of view at zoom 1."""
        c = volume_corners(self.geometry)
        return 1.05 * float((c.max(axis=0) - c.min(axis=0)).max())

    def mm_per_pixel(self, width: int, height: int) -> float:
        """Shared scale: at zoom 1 the bounding box's longest side fits the smaller view side."""
        return self.extent_mm() / max(min(width, height), 1) / self.zoom

    def grid(self, view: str, width: int, height: int) -> PlaneGrid:
        """The sampling grid of ``view`` in a ``width`` x ``height`` pixel viewport."""
        return plane_grid(self.plane(view), self.look_at, self.mm_per_pixel(width, height), width, height)

    # -- interaction ----------------------------------------------------------------------
    def set_centre(self, lps: np.ndarray) -> None:
        """Move the crosshair centre (all three planes follow)."""
        self.centre = np.asarray(lps, float).copy()

    def scroll(self, view: str, mm: float) -> None:
        """Move ``view``'s plane by ``mm`` along its normal (the others' lines move)."""
        self.centre = self.centre + mm * self.frames[view][2]

    def rotate(self, view: str, angle: float) -> None:
        """Turn the other two planes by ``angle`` radians about ``view``'s normal."""
        r = rotation(self.frames[view][2], angle)
        for other in VIEWS:
            if other != view:
                self.frames[other] = self.frames[other] @ r.T

    def pan(self, view: str, dx_mm: float, dy_mm: float) -> None:
        """Shift what all views look at by screen mm in ``view``."""
        f = self.frames[view]
        self.look_at = self.look_at - dx_mm * f[0] - dy_mm * f[1]

    def set_slab(self, mode: str, thickness_mm: float) -> None:
        if mode not in SLAB_MODES:
            raise ValueError(f"slab mode must be one of {SLAB_MODES}")
        self.slab_mode, self.slab_mm = mode, max(0.0, float(thickness_mm))

    def slab_samples(self, view: str, coarse: bool = False) -> tuple[int, float]:
        """(number of samples, spacing mm) across the slab; (1, 0) without a slab.

        Samples are about one voxel apart (``coarse``: two, for previews while interacting).
        """
        if self.slab_mode == "none" or self.slab_mm <= 0:
            return 1, 0.0
        step = self.sample_spacing(view) * (2.0 if coarse else 1.0)
        n = max(2, int(round(self.slab_mm / step)) + 1)
        return n, self.slab_mm / (n - 1)

    def sample_spacing(self, view: str) -> float:
        """Step (mm) along ``view``'s normal that advances one voxel on the dominant voxel axis."""
        n = self.frames[view][2]
        g = self.geometry
        along = np.abs(np.asarray(g.direction, float) @ n) / np.asarray(g.spacing, float)
        return float(1.0 / max(float(along.max()), 1e-6))

    def reset(self) -> None:
        """Standard axial/coronal/sagittal, centred, no zoom, no slab (window kept)."""
        self.frames = _base_frames()
        self.centre = volume_centre(self.geometry)
        self.look_at = volume_centre(self.geometry)
        self.zoom = 1.0
        self.slab_mode, self.slab_mm = "none", 0.0

    @property
    def oblique(self) -> bool:
        base = _base_frames()
        return any(not np.allclose(self.frames[v], base[v], atol=1e-9) for v in VIEWS)
