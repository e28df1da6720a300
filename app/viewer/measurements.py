"""Measurement objects (image-pixel coordinates) and their physical results.

Points are (col, row) image coordinates with pixel centres at integers. Results use the
frame's :class:`~app.viewer.calibration.Calibration`; ROI statistics use modality values
(HU on CT). Measurements and key-image marks belong to the study (:class:`StudyAnnotations`)
and serialise to plain dicts for the report.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

from app.viewer.calibration import Calibration
from app.viewer.transform import Point

#: kind -> number of points that completes it
POINTS_NEEDED = {"length": 2, "angle": 3, "cobb": 4, "ellipse": 2, "rect": 2, "probe": 1, "arrow": 2}


@dataclass
class Measurement:
    """One measurement drawn on one frame (``sop_uid`` + ``frame`` identify the image)."""

    kind: str
    points: list[Point] = field(default_factory=list)
    series_uid: str = ""
    sop_uid: str = ""
    frame: int = 0
    text: str = ""  # label of a text arrow
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def complete(self) -> bool:
        return len(self.points) >= POINTS_NEEDED[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Measurement":
        data = dict(data)
        data["points"] = [tuple(p) for p in data.get("points", [])]
        return cls(**data)


@dataclass(frozen=True)
class Result:
    """Numbers of a measurement (``values``) and the label shown next to it."""

    label: str
    values: dict[str, float]
    unit: str = ""


def _mm(p: Point, cal: Calibration) -> np.ndarray:
    return np.array([p[0] * cal.col_mm, p[1] * cal.row_mm])


def length(a: Point, b: Point, cal: Calibration) -> float:
    """Distance between two image points in mm (pixels when uncalibrated)."""
    return float(np.linalg.norm(_mm(b, cal) - _mm(a, cal)))


def angle_at(a: Point, vertex: Point, b: Point, cal: Calibration) -> float:
    """Angle a-vertex-b in degrees, in physical space (anisotropic pixels respected)."""
    u, v = _mm(a, cal) - _mm(vertex, cal), _mm(b, cal) - _mm(vertex, cal)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 0.0
    return math.degrees(math.acos(float(np.clip(u @ v / (nu * nv), -1.0, 1.0))))


def cobb_angle(p: list[Point], cal: Calibration) -> float:
    """Acute angle between line p0-p1 and line p2-p3 in degrees (0..90)."""
    u, v = _mm(p[1], cal) - _mm(p[0], cal), _mm(p[3], cal) - _mm(p[2], cal)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 0.0
    deg = math.degrees(math.acos(float(np.clip(abs(u @ v) / (nu * nv), 0.0, 1.0))))
    return deg


def roi_mask(kind: str, a: Point, b: Point, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Boolean mask of the pixels whose centres lie in the ellipse/rectangle spanned by a, b,
    with the (row, col) slices it covers in the image."""
    c0, c1 = sorted((a[0], b[0]))
    r0, r1 = sorted((a[1], b[1]))
    rows = slice(max(int(math.ceil(r0)), 0), min(int(math.floor(r1)) + 1, shape[0]))
    cols = slice(max(int(math.ceil(c0)), 0), min(int(math.floor(c1)) + 1, shape[1]))
    rr, cc = np.mgrid[rows, cols]
    if kind == "rect":
        return np.ones(rr.shape, bool), (rows, cols)
    ca, ra = (c0 + c1) / 2.0, (r0 + r1) / 2.0
    ha, hb = max((c1 - c0) / 2.0, 1e-9), max((r1 - r0) / 2.0, 1e-9)
    return ((cc - ca) / ha) ** 2 + ((rr - ra) / hb) ** 2 <= 1.0, (rows, cols)


def roi_stats(kind: str, a: Point, b: Point, values: np.ndarray, cal: Calibration) -> dict[str, float]:
    """mean, sd, min, max, pixel count and area (mm², or px² uncalibrated) of an ROI."""
    grey = values.mean(axis=-1) if values.ndim == 3 else values
    mask, (rows, cols) = roi_mask(kind, a, b, grey.shape)
    inside = np.asarray(grey[rows, cols], dtype=np.float64)[mask]
    w, h = abs(b[0] - a[0]) * cal.col_mm, abs(b[1] - a[1]) * cal.row_mm
    area = w * h if kind == "rect" else math.pi * w * h / 4.0
    if inside.size == 0:
        return {"area": area, "count": 0.0}
    return {
        "mean": float(inside.mean()), "sd": float(inside.std()), "min": float(inside.min()),
        "max": float(inside.max()), "count": float(inside.size), "area": area,
    }


def value_unit(modality: str) -> str:
    return "HU" if modality.upper() == "CT" else ""


def probe(p: Point, values: np.ndarray) -> Optional[Any]:
    """Value of the pixel nearest to ``p`` (a float, or an RGB tuple), None outside."""
    c, r = int(round(p[0])), int(round(p[1]))
    if not (0 <= r < values.shape[0] and 0 <= c < values.shape[1]):
        return None
    v = values[r, c]
    return tuple(int(x) for x in v) if np.ndim(v) else float(v)


def _area_text(area: float, cal: Calibration) -> str:
    if not cal.calibrated:
        return f"Area {area:.0f} px\u00b2"
    return f"Area {area / 100.0:.2f} cm\u00b2" if area >= 100 else f"Area {area:.1f} mm\u00b2"


def evaluate(m: Measurement, cal: Calibration, values: Optional[np.ndarray] = None, modality: str = "") -> Result:
    """The result of a complete measurement (label for the screen + numbers for the report)."""
    p = m.points
    unit = cal.unit
    if m.kind == "length":
        d = length(p[0], p[1], cal)
        star = "*" if cal.source not in ("PixelSpacing", "") else ""
        return Result(f"{d:.1f} {unit}{star}", {"length": d}, unit)
    if m.kind == "angle":
        deg = angle_at(p[0], p[1], p[2], cal)
        return Result(f"{deg:.1f}\u00b0", {"angle": deg}, "deg")
    if m.kind == "cobb":
        deg = cobb_angle(p, cal)
        return Result(f"Cobb {deg:.1f}\u00b0", {"angle": deg}, "deg")
    if m.kind in ("ellipse", "rect"):
        stats = roi_stats(m.kind, p[0], p[1], values, cal) if values is not None else {}
        vu = value_unit(modality)
        lines = []
        if "mean" in stats:
            lines.append(f"Mean {stats['mean']:.1f} {vu} SD {stats['sd']:.1f}".replace("  ", " "))
            lines.append(f"Min {stats['min']:.0f} Max {stats['max']:.0f}")
        lines.append(_area_text(stats.get("area", 0.0), cal))
        return Result("\n".join(lines), stats, vu)
    if m.kind == "probe":
        v = probe(p[0], values) if values is not None else None
        label = "n/a" if v is None else (f"RGB {v}" if isinstance(v, tuple) else f"{v:.0f} {value_unit(modality)}".strip())
        return Result(label, {} if v is None or isinstance(v, tuple) else {"value": float(v)}, value_unit(modality))
    return Result(m.text, {}, "")


@dataclass
class StudyAnnotations:
    """Measurements and key-image marks of one study (what the report can pull)."""

    study_uid: str
    measurements: list[Measurement] = field(default_factory=list)
    key_images: list[tuple[str, int]] = field(default_factory=list)  # (sop_uid, frame)

    def on_image(self, sop_uid: str, frame: int) -> list[Measurement]:
        return [m for m in self.measurements if m.sop_uid == sop_uid and m.frame == frame]

    def add(self, m: Measurement) -> None:
        self.measurements.append(m)

    def remove(self, uid: str) -> None:
        self.measurements = [m for m in self.measurements if m.uid != uid]

    def toggle_key_image(self, sop_uid: str, frame: int) -> bool:
        """Mark or unmark an image as key image; True when now marked."""
        key = (sop_uid, frame)
        if key in self.key_images:
            self.key_images.remove(key)
            return False
        self.key_images.append(key)
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"study_uid": self.study_uid, "measurements": [m.to_dict() for m in self.measurements],
                "key_images": [list(k) for k in self.key_images]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StudyAnnotations":
        return cls(data["study_uid"], [Measurement.from_dict(m) for m in data.get("measurements", [])],
                   [(str(s), int(f)) for s, f in data.get("key_images", [])])
