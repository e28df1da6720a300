"""Series geometry: sort slices along the normal, spacing, gantry tilt, gaps, irregularity.

Works on :class:`~app.dicom.series.SliceRef` only (IPP, IOP, pixel spacing, size), so it
needs no pixel data and no file parsing. Patient coordinates are DICOM LPS millimetres.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from app.dicom.series import SliceRef, Vec3

#: Relative deviation from the median spacing still counted as regular.
SPACING_TOLERANCE = 0.01
#: Two cosines are the same orientation when they differ by less than this.
ORIENTATION_TOLERANCE = 1e-3


class GeometryError(ValueError):
    """The slices do not form one volume; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VolumeGeometry:
    """Where the voxels of a (z, y, x) volume are in the patient (LPS, mm).

    ``origin``: centre of the first voxel (IPP of the first sorted slice).
    ``direction``: rows are the row cosine (x, along a row), the column cosine (y, down a
    column) and the slice normal (row x column); slices are sorted ascending along it.
    ``spacing``: (x = column spacing, y = row spacing, z = median spacing along the normal).
    ``shape``: (slices, rows, columns), the numpy volume shape.
    ``stack_direction``: unit vector from first to last slice centre (differs from the
    normal by ``tilt_degrees`` for a gantry-tilted acquisition).
    ``slice_positions``: each slice's distance along the normal from the first one.
    ``missing_slices``: indices, on the regular grid of ``spacing[2]``, of slices absent
    from the series. ``irregular``: some spacing is neither the median nor a multiple of it.
    """

    origin: Vec3
    direction: tuple[Vec3, Vec3, Vec3]
    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]
    tilt_degrees: float = 0.0
    irregular: bool = False
    missing_slices: tuple[int, ...] = ()
    stack_direction: Vec3 = (0.0, 0.0, 1.0)
    slice_positions: tuple[float, ...] = ()

    @property
    def tilted(self) -> bool:
        """True for a gantry tilt above 0.1 degree (the slices are sheared)."""
        return abs(self.tilt_degrees) > 0.1

    @property
    def affine(self) -> np.ndarray:
        """4x4 voxel (x, y, z index) -> LPS matrix, ignoring tilt (use stack_direction)."""
        out = np.eye(4)
        for axis in range(3):
            out[:3, axis] = np.asarray(self.direction[axis]) * self.spacing[axis]
        out[:3, 3] = self.origin
        return out


def _orientation_key(ref: SliceRef) -> tuple:
    iop = tuple(round(v / ORIENTATION_TOLERANCE) for v in ref.iop) if ref.iop else None
    spacing = tuple(round(v, 4) for v in ref.pixel_spacing) if ref.pixel_spacing else None
    return iop, ref.rows, ref.cols, spacing


def split_series(slices: Sequence[SliceRef]) -> list[list[SliceRef]]:
    """Group slices by orientation, size and pixel spacing (largest group first)."""
    groups: dict[tuple, list[SliceRef]] = defaultdict(list)
    for ref in slices:
        groups[_orientation_key(ref)].append(ref)
    return sorted(groups.values(), key=len, reverse=True)


def _unit_cosines(ref: SliceRef) -> np.ndarray:
    if ref.iop is None or ref.ipp is None:
        raise GeometryError(f"slice {ref.path} frame {ref.frame} has no position or orientation")
    row, col = np.asarray(ref.iop[:3], float), np.asarray(ref.iop[3:], float)
    nr, nc = np.linalg.norm(row), np.linalg.norm(col)
    if nr < 1e-6 or nc < 1e-6 or abs(row @ col) / (nr * nc) > 0.01:
        raise GeometryError(f"invalid Image Orientation (Patient) {ref.iop}")
    row, col = row / nr, col / nc
    normal = np.cross(row, col)
    return np.stack([row, col, normal / np.linalg.norm(normal)])


def sort_slices(slices: Sequence[SliceRef]) -> list[SliceRef]:
    """Slices sorted ascending along the normal of the first slice's orientation."""
    if not slices:
        return []
    normal = _unit_cosines(slices[0])[2]
    return sorted(slices, key=lambda r: (float(np.asarray(r.ipp) @ normal), r.instance_number or 0))


def _gaps(diffs: np.ndarray, step: float) -> tuple[bool, tuple[int, ...]]:
    """(irregular, missing grid indices) from consecutive spacings and the regular step."""
    missing: list[int] = []
    irregular = False
    grid = 0
    for d in diffs:
        k = max(int(round(d / step)), 1)
        if abs(d - k * step) > max(SPACING_TOLERANCE * step, 1e-3):
            irregular = True  # not a whole number of steps: no slice count to report
        else:
            missing.extend(range(grid + 1, grid + k))
        grid += k
    return irregular, tuple(missing)


def compute_geometry(slices: Sequence[SliceRef]) -> tuple[list[SliceRef], VolumeGeometry]:
    """Sort ``slices`` and describe the volume they form; raise GeometryError if they don't."""
    if not slices:
        raise GeometryError("no slices")
    groups = split_series(slices)
    if len(groups) > 1:
        raise GeometryError(
            f"mixed orientations or sizes: {len(groups)} groups "
            f"({', '.join(str(len(g)) for g in groups)} slices); split with split_series()"
        )
    cosines = _unit_cosines(slices[0])
    ordered = sort_slices(slices)
    ipps = np.array([r.ipp for r in ordered], dtype=float)
    along = (ipps - ipps[0]) @ cosines[2]
    diffs = np.diff(along)
    dup = int(np.sum(diffs < 1e-3))
    if dup:
        raise GeometryError(f"{dup} slices share a position with another (several stacks or echoes?)")
    ref = ordered[0]
    ps = ref.pixel_spacing or (1.0, 1.0)
    step = float(np.median(diffs)) if len(diffs) else 1.0
    irregular, missing = _gaps(diffs, step) if len(diffs) else (False, ())
    stack = ipps[-1] - ipps[0]
    norm = float(np.linalg.norm(stack))
    stack_dir = stack / norm if norm > 0 else cosines[2]
    tilt = math.degrees(math.acos(min(1.0, abs(float(stack_dir @ cosines[2])))))
    geometry = VolumeGeometry(
        origin=tuple(float(v) for v in ipps[0]),
        direction=tuple(tuple(float(v) for v in c) for c in cosines),
        spacing=(float(ps[1]), float(ps[0]), step),
        shape=(len(ordered), ref.rows, ref.cols),
        tilt_degrees=tilt,
        irregular=irregular,
        missing_slices=missing,
        stack_direction=tuple(float(v) for v in stack_dir),
        slice_positions=tuple(float(v) for v in along),
    )
    return ordered, geometry
