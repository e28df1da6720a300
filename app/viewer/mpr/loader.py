"""Cache series -> MPR volume (Qt-free, VTK-free): slice refs from the index, load, window.

The cache index holds each instance's position, orientation, spacing, rescale and raw pixel
offset, so single-frame series are loaded without parsing headers again; multi-frame
objects are read with :func:`app.dicom.series.read_slice_refs`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np

from app.dicom.geometry import GeometryError, VolumeGeometry, split_series
from app.dicom.series import SliceRef
from app.tasks import ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from app.store import Cache, InstanceRecord

#: Fewest slices worth a 3D reformat.
MIN_SLICES = 8


@dataclass
class MprVolume:
    """A loaded volume ready for MPR: modality values (z, y, x), geometry, default window."""

    array: np.ndarray
    geometry: VolumeGeometry
    window: Optional[tuple[float, float]]
    modality: str = ""
    series_uid: str = ""
    keepalive: object = None  # the loader's Volume (owns shared memory behind ``array``)
    notice: str = ""  # what the reader should know (e.g. slices interpolated onto a regular grid)


def slice_ref(record: "InstanceRecord") -> list[SliceRef]:
    """SliceRefs of one cached instance (index fields; headers parsed for multi-frame only)."""
    g = record.geometry
    if (g.number_of_frames or 1) > 1 or g.image_position is None:
        from app.dicom.series import read_slice_refs

        return read_slice_refs(record.path)
    raw = record.pixel_offset if not record.encapsulated else None
    return [SliceRef(
        path=str(record.path), ipp=tuple(g.image_position), iop=tuple(g.image_orientation or ()) or None,
        pixel_spacing=tuple(g.pixel_spacing) if g.pixel_spacing else None, rows=g.rows or 0, cols=g.columns or 0,
        instance_number=record.instance_number, pixel_offset=raw, transfer_syntax=record.transfer_syntax_uid,
        bits_allocated=g.bits_allocated, bits_stored=g.bits_stored, pixel_representation=g.pixel_representation,
        samples_per_pixel=g.samples_per_pixel or 1,
        rescale_slope=1.0 if g.rescale_slope is None else g.rescale_slope,
        rescale_intercept=0.0 if g.rescale_intercept is None else g.rescale_intercept,
    )]


def series_slices(cache: "Cache", series_uid: str) -> list[SliceRef]:
    """The largest single-orientation stack of a series' image slices."""
    refs = [ref for rec in cache.list_instances(series_uid) if rec.state == "ok"
            for ref in slice_ref(rec) if ref.ipp is not None and ref.iop is not None and ref.samples_per_pixel == 1]
    groups = split_series(refs) if refs else []
    return groups[0] if groups else []


def pick_series(cache: "Cache", study_uid: str) -> Optional[str]:
    """The study's best MPR series: the most slices in one orientation (ties: lowest number)."""
    best, best_count = None, 0
    for series in cache.list_series(study_uid):
        if series.num_instances < 1:
            continue
        count = len(series_slices(cache, series.series_instance_uid))
        if count >= MIN_SLICES and count > best_count:
            best, best_count = series.series_instance_uid, count
    return best


def header_window(cache: "Cache", series_uid: str) -> Optional[tuple[float, float]]:
    """The header window (centre, width) of the series' middle instance that has one.

    Per-slice windows vary (MR edge slices often carry tiny ones): the middle slice's is the
    one a reader sees first in 2D.
    """
    records = cache.list_instances(series_uid)
    ordered = sorted(range(len(records)), key=lambda i: abs(i - len(records) // 2))
    for i in ordered:
        g = records[i].geometry
        if g.window_center is not None and g.window_width:
            return float(g.window_center), float(g.window_width)
    return None


def load_mpr_volume(cache: "Cache", series_uid: str, *, progress: Optional[ProgressFn] = None,
                    cancel: Optional[threading.Event] = None, workers: Optional[int] = None) -> MprVolume:
    """Load ``series_uid`` from the cache for MPR; raises GeometryError when it is no volume."""
    from app.dicom.volume import load_volume

    slices = series_slices(cache, series_uid)
    if len(slices) < MIN_SLICES:
        raise GeometryError(f"{len(slices)} slices: too few for a 3D reformat (need {MIN_SLICES})")
    from app.dicom.regular import needs_regular_grid, regularize

    volume = load_volume(slices, progress=progress, cancel=cancel, workers=workers)
    modality = next((s.modality for s in _series_of(cache, series_uid)), "")
    window = header_window(cache, series_uid)
    if needs_regular_grid(volume.geometry):  # gaps would otherwise be squeezed out of every reformat
        array, geometry, notice = regularize(volume.array, volume.geometry)
        return MprVolume(array, geometry, window, modality, series_uid, None, notice)
    return MprVolume(volume.array, volume.geometry, window, modality, series_uid, volume)


def _series_of(cache: "Cache", series_uid: str) -> list:
    study_uid = cache.study_of_series(series_uid)
    if study_uid is None:
        return []
    return [s for s in cache.list_series(study_uid) if s.series_instance_uid == series_uid]
