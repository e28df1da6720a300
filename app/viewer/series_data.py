"""What the viewer knows about a series before any pixel is decoded: frames in display order.

Built from the cache's instance records (geometry already indexed: no header parsing except
one file for annotations and multi-frame objects) or from files. A series whose frames form
one volume is sorted along the slice normal; anything else by instance number and frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from app.dicom.codecs import DecodeError, image_errors, read_dataset
from app.dicom.geometry import GeometryError, VolumeGeometry, compute_geometry
from app.dicom.series import DEFER_SIZE, SliceRef, read_slice_refs

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset

log = logging.getLogger(__name__)

#: Modalities that are not displayed as image series (they annotate other series).
NON_IMAGE_MODALITIES = frozenset({"PR", "SEG", "SR", "KO", "RTSTRUCT", "RTPLAN", "RTDOSE", "DOC"})


@dataclass
class SeriesInfo:
    """A displayable series: frames (SliceRefs) in display order plus one parsed header."""

    series_uid: str
    study_uid: str
    modality: str
    description: str
    number: Optional[int]
    refs: list[SliceRef]
    sop_uids: list[str]
    header: "Dataset"
    geometry: Optional[VolumeGeometry] = None  # set when the frames form one sorted volume
    frame_of_reference: str = ""
    extra: dict = field(default_factory=dict)
    _normal0: Optional[tuple] = field(default=None, init=False, repr=False, compare=False)

    @property
    def frame_count(self) -> int:
        return len(self.refs)

    @property
    def is_volume(self) -> bool:
        return self.geometry is not None

    @property
    def is_color(self) -> bool:
        pi = str(self.header.get("PhotometricInterpretation", "MONOCHROME2")).upper()
        return int(self.header.get("SamplesPerPixel") or 1) > 1 or pi == "PALETTE COLOR"

    def normal(self, index: int = 0) -> Optional[np.ndarray]:
        """Unit slice normal (row x column cosine) of frame ``index``."""
        iop = self.refs[index].iop
        if iop is None:
            return None
        n = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float))
        norm = float(np.linalg.norm(n))
        return n / norm if norm > 1e-6 else None

    def position(self, index: int) -> Optional[float]:
        """Distance of frame ``index`` along the series normal (mm), None without geometry."""
        if self._normal0 is None:  # asked on every scrolled frame (corner text, sync): compute once
            self._normal0 = (self.normal(0),)
        ref, normal = self.refs[index], self._normal0[0]
        if ref.ipp is None or normal is None:
            return None
        return float(np.asarray(ref.ipp, float) @ normal)

    def positions(self) -> list[Optional[float]]:
        return [self.position(i) for i in range(self.frame_count)]

    def frame_time_ms(self) -> Optional[float]:
        """Cine frame time from FrameTime, FrameTimeVector, CineRate or RecommendedDisplayFrameRate."""
        ds = self.header
        for keyword in ("FrameTime",):
            value = ds.get(keyword)
            if value not in (None, "") and float(value) > 0:
                return float(value)
        vector = ds.get("FrameTimeVector")
        if vector:
            times = [float(v) for v in vector][1:]  # first entry is 0 by definition
            if times and sum(times) > 0:
                return sum(times) / len(times)
        for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
            value = ds.get(keyword)
            if value not in (None, "") and float(value) > 0:
                return 1000.0 / float(value)
        return None


def _ref_from_record(rec: Any) -> SliceRef:
    g = rec.geometry
    return SliceRef(
        path=str(rec.path),
        frame=0,
        ipp=tuple(g.image_position) if g.image_position else None,
        iop=tuple(g.image_orientation) if g.image_orientation else None,
        pixel_spacing=tuple(g.pixel_spacing) if g.pixel_spacing else None,
        rows=int(g.rows or 0),
        cols=int(g.columns or 0),
        instance_number=rec.instance_number,
        pixel_offset=None if rec.encapsulated else rec.pixel_offset,
        transfer_syntax=rec.transfer_syntax_uid,
        bits_allocated=g.bits_allocated,
        bits_stored=g.bits_stored,
        pixel_representation=g.pixel_representation,
        samples_per_pixel=int(g.samples_per_pixel or 1),
        rescale_slope=g.rescale_slope,
        rescale_intercept=g.rescale_intercept if g.rescale_slope is not None else None,
    )


def order_frames(refs: Sequence[SliceRef]) -> tuple[list[SliceRef], Optional[VolumeGeometry]]:
    """Volume order (along the normal) when the frames form one volume, else instance order."""
    if len(refs) > 1 and all(r.ipp and r.iop for r in refs):
        try:
            return compute_geometry(refs)
        except GeometryError as exc:
            log.debug("series is not one volume: %s", exc.reason)
    return sorted(refs, key=lambda r: (r.instance_number is None, r.instance_number or 0, r.path, r.frame)), None


def _first_readable(paths: list[str]) -> "Dataset":
    """The header of the first file that can be read (the middle one, unless it is broken)."""
    error: Optional[DecodeError] = None
    for path in dict.fromkeys(paths):
        try:
            return read_dataset(path, defer_size=DEFER_SIZE)
        except DecodeError as exc:
            error = error or exc
    assert error is not None
    raise error


def _finish(refs: list[SliceRef], sops: dict[str, str], header_path: str, meta: dict[str, Any]) -> SeriesInfo:
    ordered, geometry = order_frames(refs)
    if not ordered:
        raise DecodeError("the series has no displayable image")
    middle = ordered[len(ordered) // 2].path
    header = _first_readable([middle if header_path == "" else header_path] + [r.path for r in ordered])
    return SeriesInfo(
        series_uid=meta.get("series_uid") or str(header.get("SeriesInstanceUID", "")),
        study_uid=meta.get("study_uid") or str(header.get("StudyInstanceUID", "")),
        modality=meta.get("modality") or str(header.get("Modality", "")),
        description=meta.get("description") or str(header.get("SeriesDescription", "")),
        number=meta.get("number", header.get("SeriesNumber")),
        refs=ordered,
        sop_uids=[sops.get(r.path, "") for r in ordered],
        header=header,
        geometry=geometry,
        frame_of_reference=str(header.get("FrameOfReferenceUID", "")),
    )


def series_from_records(records: Sequence[Any], meta: Optional[dict[str, Any]] = None) -> SeriesInfo:
    """SeriesInfo from ``Cache.list_instances`` records (only multi-frame files are parsed)."""
    refs: list[SliceRef] = []
    sops: dict[str, str] = {}
    for rec in records:
        g = rec.geometry
        if rec.state != "ok" or not g.rows or not g.columns:
            continue  # missing file or not an image
        sops[str(rec.path)] = rec.sop_instance_uid
        if (g.number_of_frames or 1) > 1:
            refs.extend(read_slice_refs(rec.path))
        else:
            refs.append(_ref_from_record(rec))
    return _finish(refs, sops, "", meta or {})


def series_from_files(paths: Sequence[Path | str]) -> SeriesInfo:
    """SeriesInfo from files on disk (each header parsed; for tests and file drops)."""
    refs: list[SliceRef] = []
    sops: dict[str, str] = {}
    for path in paths:
        found = read_slice_refs(path)
        if found and found[0].rows:
            refs.extend(found)
            sops[str(path)] = str(read_dataset(path, stop_before_pixels=True).get("SOPInstanceUID", ""))
    return _finish(refs, sops, "", {})


def image_series(cache: Any, study_uid: str) -> list[Any]:
    """The study's displayable series summaries (largest first among equal numbers kept in order)."""
    return [s for s in cache.list_series(study_uid) if s.modality.upper() not in NON_IMAGE_MODALITIES]


def load_series_info(cache: Any, series_uid: str, summary: Any = None) -> SeriesInfo:
    """SeriesInfo of one cached series; DecodeError (one line) when it has nothing displayable."""
    meta = {}
    if summary is not None:
        meta = {"series_uid": summary.series_instance_uid, "study_uid": summary.study_instance_uid,
                "modality": summary.modality, "description": summary.description, "number": summary.series_number}
    records = cache.list_instances(series_uid)
    with image_errors("cannot read series"):
        return series_from_records(records, meta)


#: ``SeriesInfo.extra`` key: frame index -> "slice 57 — arriving" for slices a retrieve has not delivered yet
ARRIVING = "arriving"


PLACEHOLDER_ENDINGS = ("arriving", "not retrieved")


def is_placeholder_reason(reason: Optional[str]) -> bool:
    """True for the reason of a slice still arriving (or that a retrieve ended without): drawn grey, no error."""
    return bool(reason) and str(reason).endswith(PLACEHOLDER_ENDINGS)


def progressive_series(records: Sequence[Any], pending: Sequence[tuple[str, Optional[int]]],
                       meta: Optional[dict[str, Any]] = None, state: str = "arriving") -> SeriesInfo:
    """SeriesInfo of the cached part of a series being retrieved plus a placeholder frame per ``pending``
    (SOP UID, instance number), all in instance order (no volume geometry until the series is complete)."""
    info = series_from_records(records, meta)
    have = set(info.sop_uids)
    pending = [(sop, n) for sop, n in pending if sop not in have]
    if not pending:
        return info
    like = info.refs[len(info.refs) // 2]
    slots = [(ref.instance_number, sop, ref) for ref, sop in zip(info.refs, info.sop_uids)]
    slots += [(n, sop, SliceRef(path="", instance_number=n, rows=like.rows, cols=like.cols)) for sop, n in pending]
    slots.sort(key=lambda s: (s[0] is None, s[0] or 0, s[1]))
    info.refs, info.sop_uids, info.geometry = [s[2] for s in slots], [s[1] for s in slots], None
    info.extra[ARRIVING] = {i: f"slice {i + 1} \u2014 {state}" for i, s in enumerate(slots) if not s[2].path}
    return info


def is_lossy_image(ref: SliceRef, header: Any) -> bool:
    """Lossy compressed on arrival (the stored transfer syntax) or ever (LossyImageCompression "01")."""
    from app.dicom.syntaxes import lossless

    ts = ref.transfer_syntax or ""
    return bool(ts and ts not in lossless()) or str(header.get("LossyImageCompression", "") or "") == "01"
