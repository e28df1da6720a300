"""Synchronised scrolling, linked window/level and reference lines between viewports (pure math).

Scrolling follows the slice position along the normal: in the same frame of reference
the target shows the slice nearest to the same patient position; across frames of
reference (a prior from another scanner) the offset between the two series at the moment
they were linked is kept (Weasis' relative mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from app.viewer.series_data import SeriesInfo

PARALLEL_COS = 0.9  # |n1 . n2| above this (< ~25 deg, e.g. gantry tilt): sync by position
REFLINE_COS = 0.99  # reference lines only between planes less parallel than ~8 deg


@dataclass(frozen=True)
class Plane:
    """An image plane in patient space: origin = centre of pixel (0, 0), unit row/col cosines."""

    origin: np.ndarray
    row: np.ndarray  # direction of increasing column index
    col: np.ndarray  # direction of increasing row index
    sx: float  # mm between columns
    sy: float  # mm between rows
    cols: int
    rows: int

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(self.row, self.col)
        return n / np.linalg.norm(n)


def plane_of(info: SeriesInfo, index: int) -> Optional[Plane]:
    """Plane of frame ``index``, None without position/orientation."""
    ref = info.refs[index]
    if ref.ipp is None or ref.iop is None:
        return None
    row, col = np.asarray(ref.iop[:3], float), np.asarray(ref.iop[3:], float)
    sy, sx = ref.pixel_spacing or (1.0, 1.0)
    return Plane(np.asarray(ref.ipp, float), row / np.linalg.norm(row), col / np.linalg.norm(col),
                 float(sx), float(sy), ref.cols, ref.rows)


def parallel(a: SeriesInfo, b: SeriesInfo, threshold: float = PARALLEL_COS) -> bool:
    na, nb = a.normal(0), b.normal(0)
    return na is not None and nb is not None and abs(float(na @ nb)) >= threshold


def position_in(target: SeriesInfo, point: np.ndarray) -> list[float]:
    """Positions of ``target``'s frames along its own normal minus that of ``point``."""
    n = target.normal(0)
    return [float((np.asarray(r.ipp, float) - point) @ n) for r in target.refs]  # type: ignore[arg-type]


def nearest_frame(target: SeriesInfo, point: np.ndarray, offset: float = 0.0) -> Optional[int]:
    """Frame of ``target`` whose plane is nearest to patient ``point`` (+ ``offset`` mm)."""
    if target.normal(0) is None or any(r.ipp is None for r in target.refs):
        return None
    d = np.abs(np.asarray(position_in(target, point)) - offset)
    return int(np.argmin(d))


def centre_point(info: SeriesInfo, index: int) -> Optional[np.ndarray]:
    """Patient position of the centre of frame ``index``."""
    p = plane_of(info, index)
    if p is None:
        return None
    return p.origin + p.row * p.sx * (p.cols - 1) / 2.0 + p.col * p.sy * (p.rows - 1) / 2.0


def link_offset(source: SeriesInfo, s_index: int, target: SeriesInfo, t_index: int) -> float:
    """Offset (mm along the target normal) to keep when linking series of different frames of
    reference; 0 in the same frame of reference."""
    if source.frame_of_reference and source.frame_of_reference == target.frame_of_reference:
        return 0.0
    a, b = centre_point(source, s_index), centre_point(target, t_index)
    if a is None or b is None or target.normal(0) is None:
        return 0.0
    return float((b - a) @ target.normal(0))


def synced_frame(source: SeriesInfo, s_index: int, target: SeriesInfo, offset: float = 0.0) -> Optional[int]:
    """The target frame to show when ``source`` shows ``s_index`` (None: not syncable)."""
    if not parallel(source, target):
        return None
    point = centre_point(source, s_index)
    return None if point is None else nearest_frame(target, point, offset)


def _clip_line(a: float, b: float, k: float, cols: int, rows: int) -> Optional[tuple[tuple[float, float], tuple[float, float]]]:
    """Segment of the line a*c + b*r + k = 0 inside [-0.5, cols-0.5] x [-0.5, rows-0.5]."""
    c0, c1, r0, r1 = -0.5, cols - 0.5, -0.5, rows - 0.5
    pts: list[tuple[float, float]] = []
    if abs(b) > 1e-12:
        for c in (c0, c1):
            r = -(a * c + k) / b
            if r0 - 1e-9 <= r <= r1 + 1e-9:
                pts.append((c, r))
    if abs(a) > 1e-12:
        for r in (r0, r1):
            c = -(b * r + k) / a
            if c0 - 1e-9 <= c <= c1 + 1e-9:
                pts.append((c, r))
    unique: list[tuple[float, float]] = []
    for p in pts:
        if all(abs(p[0] - q[0]) > 1e-6 or abs(p[1] - q[1]) > 1e-6 for q in unique):
            unique.append(p)
    if len(unique) < 2:
        return None
    return unique[0], unique[-1] if len(unique) == 2 else max(unique[1:], key=lambda q: (q[0] - unique[0][0]) ** 2 + (q[1] - unique[0][1]) ** 2)


def reference_line(shown: Plane, other: Plane) -> Optional[tuple[tuple[float, float], tuple[float, float]]]:
    """Where ``other``'s plane cuts ``shown``, as an image-pixel segment of ``shown`` (None if
    parallel or outside)."""
    n = other.normal
    a = shown.sx * float(shown.row @ n)
    b = shown.sy * float(shown.col @ n)
    if abs(a) < 1e-9 and abs(b) < 1e-9:
        return None
    k = float((shown.origin - other.origin) @ n)
    return _clip_line(a, b, k, shown.cols, shown.rows)


def same_patient_space(a: SeriesInfo, b: SeriesInfo) -> bool:
    return bool(a.frame_of_reference) and a.frame_of_reference == b.frame_of_reference


def reference_lines(shown: SeriesInfo, s_index: int, others: Sequence[tuple[SeriesInfo, int]]) -> list:
    """Reference-line segments on ``shown`` for each (series, frame) shown elsewhere."""
    here = plane_of(shown, s_index)
    out = []
    if here is None:
        return out
    for info, index in others:
        if info is shown or not same_patient_space(shown, info) or parallel(shown, info, REFLINE_COS):
            continue
        there = plane_of(info, index)
        seg = reference_line(here, there) if there is not None else None
        if seg is not None:
            out.append(seg)
    return out


def align_models(models: Sequence[object], *, sync: bool = True, lines: bool = True) -> None:
    """Headless hanging: scroll every model to the first one's position (same frame of
    reference only; ``sync``) and give each the reference lines of the others (``lines``)."""
    shown = [m for m in models if m is not None and m.series is not None]  # type: ignore[attr-defined]
    if not shown:
        return
    lead = shown[0]
    for m in shown[1:] if sync else ():
        if same_patient_space(lead.series, m.series):  # type: ignore[attr-defined]
            index = synced_frame(lead.series, lead.state.frame, m.series)  # type: ignore[attr-defined]
            if index is not None:
                m.state.set_frame(index)  # type: ignore[attr-defined]
    planes = [(m.series, m.state.frame) for m in shown]  # type: ignore[attr-defined]
    for m in shown if lines else ():
        m.reference_lines = reference_lines(m.series, m.state.frame, planes)  # type: ignore[attr-defined]
