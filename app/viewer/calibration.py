"""Pixel calibration for measurements: which spacing applies and what the user must be told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from app.dicom.series import frame_value


@dataclass(frozen=True)
class Calibration:
    """mm per pixel along a row (``col_mm``) and down a column (``row_mm``) and its source.

    ``source``: "PixelSpacing" (patient plane), "ImagerPixelSpacing" (detector plane,
    magnified), "ImagerPixelSpacing/ERMF" (corrected by the estimated magnification),
    "US region", or "" when uncalibrated (measurements in pixels).
    """

    row_mm: float = 1.0
    col_mm: float = 1.0
    source: str = ""

    @property
    def calibrated(self) -> bool:
        return bool(self.source)

    @property
    def notice(self) -> str:
        """Text shown next to measurements when the spacing is not in the patient plane."""
        return {
            "ImagerPixelSpacing": "Calibration: detector plane (ImagerPixelSpacing)",
            "ImagerPixelSpacing/ERMF": "Calibration: ImagerPixelSpacing / magnification factor",
            "US region": "Calibration: ultrasound region",
            "": "Uncalibrated: measurements in pixels",
        }.get(self.source, "")

    @property
    def unit(self) -> str:
        return "mm" if self.calibrated else "px"


def _pair(value: Any) -> Optional[tuple[float, float]]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (a, b) if a > 0 and b > 0 else None


def _us_region(ds: Any) -> Optional[Calibration]:
    for region in ds.get("SequenceOfUltrasoundRegions") or []:
        # PhysicalUnits 3 = cm; deltas are cm per pixel
        if int(region.get("PhysicalUnitsXDirection", 0)) == 3 and int(region.get("PhysicalUnitsYDirection", 0)) == 3:
            dx, dy = abs(float(region.PhysicalDeltaX)) * 10.0, abs(float(region.PhysicalDeltaY)) * 10.0
            if dx > 0 and dy > 0:
                return Calibration(row_mm=dy, col_mm=dx, source="US region")
    return None


def calibration_of(ds: Any, frame: int = 0) -> Calibration:
    """The calibration radiologists expect: PixelSpacing, else ImagerPixelSpacing (flagged),
    else an ultrasound region, else none."""
    spacing = _pair(frame_value(ds, frame, "PixelMeasuresSequence", "PixelSpacing"))
    if spacing is not None:
        return Calibration(spacing[0], spacing[1], "PixelSpacing")
    imager = _pair(ds.get("ImagerPixelSpacing"))
    if imager is not None:
        ermf = ds.get("EstimatedRadiographicMagnificationFactor")
        try:
            factor = float(ermf) if ermf not in (None, "") else 0.0
        except (TypeError, ValueError):
            factor = 0.0
        if factor > 0 and factor != 1.0:
            return Calibration(imager[0] / factor, imager[1] / factor, "ImagerPixelSpacing/ERMF")
        return Calibration(imager[0], imager[1], "ImagerPixelSpacing")
    return _us_region(ds) or Calibration()


def display_spacing(cal: Calibration) -> tuple[float, float]:
    """(sx, sy) used for the on-screen aspect ratio: the calibration, else square pixels."""
    if cal.calibrated and cal.source != "US region":
        return cal.col_mm, cal.row_mm
    return 1.0, 1.0
