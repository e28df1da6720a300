"""MPR planes in patient LPS: screen axes, sampling grids, crosshair lines, orientation labels.

A plane's ``u`` points to the screen's right and ``v`` down the screen; ``normal = u x v``.
Standard radiological views: axial seen from the feet (patient left on screen right,
anterior up), coronal seen from the front (left on the right, superior up), sagittal seen
from the patient's left (anterior on the left, superior up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VIEWS = ("axial", "coronal", "sagittal")

#: (u, v) of each standard view in LPS.
BASE_AXES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}

#: Display colours of each plane's crosshair line (RGB), Horos/Slicer style.
COLOURS = {"axial": (230, 60, 60), "coronal": (60, 200, 80), "sagittal": (240, 200, 40)}


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """3x3 rotation of ``angle`` radians about unit ``axis`` (right-handed)."""
    x, y, z = np.asarray(axis, float) / np.linalg.norm(axis)
    c, s, t = np.cos(angle), np.sin(angle), 1 - np.cos(angle)
    return np.array([
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ])


@dataclass(frozen=True)
class Plane:
    """A view plane: ``centre`` (LPS, on the plane) and unit screen axes ``u`` (right), ``v`` (down)."""

    centre: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.u, self.v)

    def distance(self, lps: np.ndarray) -> float:
        """Signed distance (mm) of ``lps`` from the plane along the normal."""
        return float((np.asarray(lps, float) - self.centre) @ self.normal)

    def to_plane(self, lps: np.ndarray) -> tuple[float, float]:
        """In-plane coordinates (mm right, mm down) of ``lps`` relative to ``centre``."""
        d = np.asarray(lps, float) - self.centre
        return float(d @ self.u), float(d @ self.v)

    def from_plane(self, x_mm: float, y_mm: float) -> np.ndarray:
        """LPS point at in-plane (mm right, mm down) of ``centre``."""
        return self.centre + x_mm * self.u + y_mm * self.v


@dataclass(frozen=True)
class PlaneGrid:
    """Pixels of a view: pixel (col, row) centre is ``origin + col*du + row*dv`` (LPS)."""

    origin: np.ndarray
    du: np.ndarray
    dv: np.ndarray
    width: int
    height: int

    @property
    def pixel_mm(self) -> float:
        return float(np.linalg.norm(self.du))

    def pixel_to_lps(self, col: float, row: float) -> np.ndarray:
        return self.origin + col * self.du + row * self.dv

    def lps_to_pixel(self, lps: np.ndarray) -> tuple[float, float]:
        """(col, row) of the projection of ``lps`` on the grid's plane."""
        d = np.asarray(lps, float) - self.origin
        s2 = self.pixel_mm ** 2
        return float(d @ self.du) / s2, float(d @ self.dv) / s2

    def points(self) -> np.ndarray:
        """(height, width, 3) LPS centres of every pixel."""
        cols = np.arange(self.width, dtype=float)
        rows = np.arange(self.height, dtype=float)
        return self.origin + rows[:, None, None] * self.dv + cols[None, :, None] * self.du

    def scaled(self, factor: float) -> "PlaneGrid":
        """Same field of view with ``factor`` times fewer pixels per side (interaction preview)."""
        width, height = max(1, int(round(self.width / factor))), max(1, int(round(self.height / factor)))
        fx, fy = self.width / width, self.height / height
        corner = self.origin - 0.5 * self.du - 0.5 * self.dv
        du, dv = self.du * fx, self.dv * fy
        return PlaneGrid(corner + 0.5 * du + 0.5 * dv, du, dv, width, height)


def plane_grid(plane: Plane, look_at: np.ndarray, mm_per_pixel: float, width: int, height: int) -> PlaneGrid:
    """Grid of a ``width`` x ``height`` view of ``plane`` with ``look_at`` (projected) mid-view."""
    x, y = plane.to_plane(look_at)
    mid = plane.from_plane(x, y)
    du, dv = plane.u * mm_per_pixel, plane.v * mm_per_pixel
    origin = mid - (width - 1) / 2.0 * du - (height - 1) / 2.0 * dv
    return PlaneGrid(origin, du, dv, int(width), int(height))


def crosshair_direction(plane: Plane, other: Plane) -> tuple[float, float] | None:
    """Screen direction (unit, x right, y down) of ``other``'s intersection line in ``plane``."""
    d = np.cross(plane.normal, other.normal)
    n = float(np.linalg.norm(d))
    if n < 1e-6:
        return None  # parallel planes do not intersect
    x, y = float(d @ plane.u) / n, float(d @ plane.v) / n
    return x, y


def orientation_label(vector: np.ndarray, threshold: float = 0.25) -> str:
    """Patient direction letters of an LPS vector, main component first (e.g. 'L', 'AS')."""
    v = np.asarray(vector, float)
    v = v / np.linalg.norm(v)
    letters = (("R", "L"), ("A", "P"), ("I", "S"))
    order = np.argsort(-np.abs(v))
    return "".join(letters[a][int(v[a] > 0)] for a in order if abs(v[a]) >= threshold)


def edge_labels(plane: Plane) -> dict[str, str]:
    """Orientation letters for the left, right, top and bottom screen edges of ``plane``."""
    return {
        "left": orientation_label(-plane.u),
        "right": orientation_label(plane.u),
        "top": orientation_label(-plane.v),
        "bottom": orientation_label(plane.v),
    }
