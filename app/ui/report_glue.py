"""Carry the viewer's measurements and key images into the report editor."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

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


def _where(ds: Any) -> str:
    """" (series 3, image 28)": where a reader finds the measured image."""
    parts = [f"{name} {ds.get(tag)}" for name, tag in (("series", "SeriesNumber"), ("image", "InstanceNumber"))
             if ds.get(tag) not in (None, "")]
    return f" ({', '.join(parts)})" if parts else ""


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
        shown = " · ".join(result.label.splitlines())  # the label on screen, at its precision
        where = _where(ds)
        items.append({"label": NAMES[m.kind], "value": float(result.values[key]),
                      "line": f"{NAMES[m.kind]}: {shown or result.values[key]}{where}",
                      "unit": UCUM.get(result.unit, result.unit or "1"),
                      "image": {"sop_class_uid": instance.sop_class_uid, "sop_instance_uid": m.sop_uid,
                                "series_uid": instance.series_instance_uid, "frame": m.frame}})
    return items


def insert_key_images(editor: "ReportEditor", cache: "Cache", annotations: "StudyAnnotations", thumbs: Path,
                      on_screen: Optional[Callable[[str, int], Any]] = None) -> int:
    """Add each marked key image to the report as a PNG: as the viewport shows it (``on_screen(sop, frame)``
    returns its (H, W, 3) pixels, or None when it is not on screen), else rendered with the header window."""
    from app.dicom.render import render_png
    from app.reporting.model import ImageRef

    from app.config import private_dir

    private_dir(thumbs)  # key images are PHI: owner-only whatever the umask
    count = 0
    for sop_uid, frame in annotations.key_images:
        instance = cache.get_instance(sop_uid)
        if instance is None:
            continue
        png = thumbs / f"{instance.sha256[:16]}-{frame}.png"
        pixels = on_screen(sop_uid, frame) if on_screen is not None else None
        if pixels is not None:
            from app.viewer.offscreen_view import save_png

            png = thumbs / f"{instance.sha256[:16]}-{frame}-screen.png"
            save_png(pixels, png)
        else:
            render_png(instance.path, png, frame=frame)
        ref = ImageRef(instance.sop_class_uid, sop_uid, instance.series_instance_uid, frame)
        editor.insert_key_image(ref, str(png), f"Image {instance.instance_number or ''}".strip())
        count += 1
    return count
