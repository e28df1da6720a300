"""Carry the viewer's measurements and key images into the report editor."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from app.store import Cache, InstanceRecord
    from app.ui.report_editor import ReportEditor
    from app.viewer.measurements import StudyAnnotations

log = logging.getLogger(__name__)

# viewer units -> UCUM (the SR needs UCUM codes)
UCUM = {"mm": "mm", "px": "{pixel}", "deg": "deg", "HU": "[hnsf'U]", "mm²": "mm2", "cm²": "cm2"}
NAMES = {"length": "Length", "angle": "Angle", "cobb": "Cobb angle", "ellipse": "Ellipse ROI mean",
         "rect": "Rectangle ROI mean", "probe": "Point value"}


def _image(cache: "Cache", sop_uid: str, frame: int) -> "Optional[tuple[InstanceRecord, Any]]":
    """(instance record, header dataset) of a measured image, or None if it left the cache."""
    from app.dicom.codecs import read_dataset

    instance = cache.get_instance(sop_uid)
    if instance is None:
        return None
    return instance, read_dataset(instance.path, stop_before_pixels=True)


def _values(path: Path, frame: int) -> Any:
    from app.dicom.codecs import decode_frame, read_dataset
    from app.dicom.pixels import display_params, modality_values

    ds = read_dataset(path)
    return modality_values(decode_frame(ds, frame), display_params(ds, frame))


def measurement_items(cache: "Cache", annotations: "StudyAnnotations") -> list[dict[str, Any]]:
    """Report measurements (label, value, UCUM unit, image reference) for the viewer's complete ones."""
    from app.viewer.calibration import calibration_of
    from app.viewer.measurements import evaluate

    items = []
    for m in annotations.measurements:
        found = _image(cache, m.sop_uid, m.frame) if m.complete and m.kind in NAMES else None
        if found is None:
            continue
        instance, ds = found
        values = _values(instance.path, m.frame) if m.kind in ("ellipse", "rect", "probe") else None
        result = evaluate(m, calibration_of(ds, m.frame), values, str(ds.get("Modality", "")))
        key = next(iter(result.values), None) if m.kind not in ("ellipse", "rect") else "mean"
        if key is None or key not in result.values:
            continue
        items.append({"label": NAMES[m.kind], "value": float(result.values[key]),
                      "unit": UCUM.get(result.unit, result.unit or "1"),
                      "image": {"sop_class_uid": instance.sop_class_uid, "sop_instance_uid": m.sop_uid,
                                "series_uid": instance.series_instance_uid, "frame": m.frame}})
    return items


def insert_key_images(editor: "ReportEditor", cache: "Cache", annotations: "StudyAnnotations", thumbs: Path) -> int:
    """Render each marked key image to a PNG thumbnail and add it to the report; returns how many."""
    from app.dicom.render import render_png
    from app.reporting.model import ImageRef

    thumbs.mkdir(parents=True, exist_ok=True)
    count = 0
    for sop_uid, frame in annotations.key_images:
        instance = cache.get_instance(sop_uid)
        if instance is None:
            continue
        png = thumbs / f"{instance.sha256[:16]}-{frame}.png"
        render_png(instance.path, png, frame=frame)
        ref = ImageRef(instance.sop_class_uid, sop_uid, instance.series_instance_uid, frame)
        editor.insert_key_image(ref, str(png), f"Image {instance.instance_number or ''}".strip())
        count += 1
    return count
