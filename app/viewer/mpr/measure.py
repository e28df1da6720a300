"""Length measurements drawn in MPR views, kept in patient LPS (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.viewer.mpr.planes import Plane


@dataclass
class Measurement:
    """A line between two LPS points, drawn on a plane with ``normal``."""

    p1: np.ndarray
    p2: np.ndarray
    normal: np.ndarray

    @property
    def length_mm(self) -> float:
        return float(np.linalg.norm(np.asarray(self.p2, float) - np.asarray(self.p1, float)))

    def visible_in(self, plane: Plane, tolerance_mm: float = 0.5) -> bool:
        """True when the line lies in ``plane`` (same orientation, within ``tolerance_mm``)."""
        if abs(float(np.dot(self.normal, plane.normal))) < 0.999:
            return False
        return abs(plane.distance(self.p1)) <= tolerance_mm and abs(plane.distance(self.p2)) <= tolerance_mm

    def label(self) -> str:
        return f"{self.length_mm:.1f} mm"
