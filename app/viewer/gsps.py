"""Grayscale Softcopy Presentation States: the PR's LUT pipeline and graphic annotations.

The display of a referenced image becomes: stored value -> PR Modality LUT (or rescale)
-> Softcopy VOI (window or VOI LUT) -> Presentation LUT (shape or table) -> 8-bit grey,
built once as a table over the stored-value domain. Graphic and text annotations of the
referenced image are kept as polylines/text anchors in image-pixel coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


@dataclass
class Graphic:
    """A polyline (closed or not) or a text in image-pixel (col, row) coordinates."""

    points: list[tuple[float, float]] = field(default_factory=list)
    closed: bool = False
    text: str = ""


def _item_dataset(ds: Any, item: Any) -> Any:
    """A dataset holding ``item``'s elements plus the image pixel attributes pydicom needs."""
    from pydicom import Dataset

    holder = Dataset()
    holder.file_meta = getattr(ds, "file_meta", Dataset())
    for elem in item:
        holder.add(elem)
    return holder


def _references(pr: Any) -> set[str]:
    out = set()
    for series in pr.get("ReferencedSeriesSequence") or []:
        for inst in series.get("ReferencedImageSequence") or []:
            out.add(str(inst.ReferencedSOPInstanceUID))
    return out


def _points(obj: Any, units: str, rows: int, cols: int) -> list[tuple[float, float]]:
    data = [float(v) for v in obj.GraphicData]
    pts = list(zip(data[0::2], data[1::2]))
    if units == "DISPLAY":  # fractions of the displayed area (whole image assumed)
        return [(x * cols - 0.5, y * rows - 0.5) for x, y in pts]
    return [(x - 0.5, y - 0.5) for x, y in pts]  # PIXEL: (0, 0) is the first pixel's outer corner


def _graphics(pr: Any, sop_uid: str, rows: int, cols: int) -> list[Graphic]:
    out: list[Graphic] = []
    for layer in pr.get("GraphicAnnotationSequence") or []:
        refs = {str(r.ReferencedSOPInstanceUID) for r in layer.get("ReferencedImageSequence") or []}
        if refs and sop_uid not in refs:
            continue
        for obj in layer.get("GraphicObjectSequence") or []:
            pts = _points(obj, str(obj.get("GraphicAnnotationUnits", "PIXEL")), rows, cols)
            kind = str(obj.get("GraphicType", "POLYLINE")).upper()
            if kind == "CIRCLE" and len(pts) >= 2:
                (cx, cy), (ex, ey) = pts[0], pts[1]
                r = math.hypot(ex - cx, ey - cy)
                pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 49)]
            elif kind == "ELLIPSE" and len(pts) >= 4:
                (ax, ay), (bx, by), (cx2, cy2), (dx, dy) = pts[:4]
                c = ((ax + bx) / 2, (ay + by) / 2)
                u, v = ((bx - ax) / 2, (by - ay) / 2), ((dx - cx2) / 2, (dy - cy2) / 2)
                pts = [(c[0] + u[0] * math.cos(a) + v[0] * math.sin(a), c[1] + u[1] * math.cos(a) + v[1] * math.sin(a))
                       for a in np.linspace(0, 2 * math.pi, 49)]
            elif kind == "POINT" and pts:
                x, y = pts[0]
                pts = [(x - 2, y), (x + 2, y), (x, y), (x, y - 2), (x, y + 2)]
            out.append(Graphic(pts, closed=str(obj.get("GraphicFilled", "N")) == "Y" or kind in ("CIRCLE", "ELLIPSE")))
        for text in layer.get("TextObjectSequence") or []:
            if "AnchorPoint" in text:
                x, y = (float(v) - 0.5 for v in text.AnchorPoint)
            else:
                x, y = (float(v) - 0.5 for v in text.BoundingBoxTopLeftHandCorner)
            out.append(Graphic([(x, y)], text=str(text.get("UnformattedTextValue", ""))))
    return out


@dataclass
class Presentation:
    """One GSPS applied to one image: an 8-bit table over stored values plus graphics."""

    label: str
    references: set[str]
    table: Optional[np.ndarray]  # uint8 over the stored domain (unsigned bit pattern index)
    stored_dtype: str
    slope: float
    intercept: float
    graphics: list[Graphic] = field(default_factory=list)

    def render(self, values: np.ndarray, invert: bool, out: np.ndarray) -> None:
        """Modality values of the image -> display through the PR pipeline, into ``out``."""
        assert self.table is not None
        stored = np.rint((values.astype(np.float64) - self.intercept) / self.slope)
        info = np.iinfo(self.stored_dtype)
        stored = np.clip(stored, info.min, info.max).astype(self.stored_dtype)
        index = stored.view(np.dtype(self.stored_dtype).str.replace("i", "u"))
        np.take(255 - self.table if invert else self.table, index, out=out)
        return None


def presentation_for(pr: Any, image: Any) -> Optional[Presentation]:
    """The GSPS ``pr`` prepared for ``image`` (a dataset), None if it does not reference it."""
    from pydicom.pixels.processing import apply_modality_lut, apply_presentation_lut, apply_voi_lut

    sop = str(image.get("SOPInstanceUID", ""))
    refs = _references(pr)
    if refs and sop not in refs:
        return None
    bits = int(image.get("BitsStored") or 8)
    signed = int(image.get("PixelRepresentation") or 0) == 1
    dtype = ("i" if signed else "u") + ("1" if int(image.get("BitsAllocated") or 8) <= 8 else "2")
    domain = np.arange(2 ** (8 * np.dtype(dtype).itemsize), dtype=dtype.replace("i", "u")).view(dtype)
    values: np.ndarray = domain.astype(np.float64)
    if "ModalityLUTSequence" in pr or "RescaleSlope" in pr:
        holder = _item_dataset(pr, pr)
        holder.BitsStored, holder.PixelRepresentation = bits, int(signed)
        values = np.asarray(apply_modality_lut(domain, holder), dtype=np.float64)
    else:
        values = np.asarray(apply_modality_lut(domain, image), dtype=np.float64)
    out_bits = 8
    voi = (pr.get("SoftcopyVOILUTSequence") or [None])[0]
    if voi is not None:
        holder = _item_dataset(pr, voi)
        holder.BitsStored, holder.PixelRepresentation = bits, int(signed)
        if "VOILUTSequence" in voi:
            out_bits = int(voi.VOILUTSequence[0].LUTDescriptor[2])
            values = np.asarray(apply_voi_lut(values.astype(np.int64), holder), dtype=np.float64)
            values = values / float(2**out_bits - 1)
        else:
            values = _window_unit(values, float(voi.WindowCenter), float(voi.WindowWidth))
    else:
        lo, hi = float(values.min()), float(values.max())
        values = (values - lo) / max(hi - lo, 1.0)
    if "PresentationLUTSequence" in pr:
        desc = [int(v) for v in pr.PresentationLUTSequence[0].LUTDescriptor]
        entries = desc[0] or 65536
        index = np.clip(np.rint(values * (entries - 1)), 0, entries - 1).astype(np.int64)
        p_values = np.asarray(apply_presentation_lut(index, pr), dtype=np.float64)
        unit = p_values / float(2 ** desc[2] - 1)
    else:
        unit = 1.0 - values if str(pr.get("PresentationLUTShape", "IDENTITY")) == "INVERSE" else values
    table = np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)
    slope = float(image.get("RescaleSlope") or 1.0)
    intercept = float(image.get("RescaleIntercept") or 0.0)
    rows, cols = int(image.get("Rows") or 0), int(image.get("Columns") or 0)
    label = str(pr.get("ContentLabel", "GSPS"))
    return Presentation(label, refs, table, dtype, slope, intercept, _graphics(pr, sop, rows, cols))


def _window_unit(values: np.ndarray, centre: float, width: float) -> np.ndarray:
    from app.dicom.pixels import voi_unit

    return voi_unit(values, (centre, width))


def find_presentations(cache: Any, study_uid: str) -> list[Any]:
    """Parsed PR datasets of a study (from the cache)."""
    from app.dicom.codecs import read_dataset

    out = []
    for series in cache.list_series(study_uid):
        if series.modality.upper() == "PR":
            for inst in cache.list_instances(series.series_instance_uid):
                out.append(read_dataset(inst.path))
    return out
