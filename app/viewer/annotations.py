"""Four-corner text, orientation markers and the scale bar of a viewport (pure logic)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from app.viewer.state import ViewState, Window
from app.viewer.transform import ViewTransform

#: LPS axis -> (label for +, label for -)
_AXIS_LABELS = (("L", "R"), ("P", "A"), ("H", "F"))
_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}


def _text(ds: Any, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _date(value: str) -> str:
    if not value.strip("0"):
        return ""
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) >= 8 and value[:8].isdigit() else value


def _time(value: str) -> str:
    return f"{value[:2]}:{value[2:4]}" if len(value) >= 4 and value[:4].isdigit() else value


def direction_label(vector: Sequence[float], threshold: float = 0.3) -> str:
    """Patient-direction letters of an LPS vector, strongest first (e.g. 'L', 'LA', 'HP')."""
    v = np.asarray(vector, float)
    norm = float(np.linalg.norm(v))
    if norm < 1e-9:
        return ""
    v = v / norm
    order = np.argsort(-np.abs(v))
    return "".join(_AXIS_LABELS[a][0 if v[a] > 0 else 1] for a in order if abs(v[a]) >= threshold)[:2]


def orientation_labels(iop: Optional[Sequence[float]], t: ViewTransform,
                       patient_orientation: Sequence[str] = ()) -> dict[str, str]:
    """Labels at the viewport's 'left', 'right', 'top', 'bottom' edges (may be empty).

    From Image Orientation (Patient) when known, else from Patient Orientation (projection
    images: row and column directions as letter codes).
    """
    out = {"left": "", "right": "", "top": "", "bottom": ""}
    screen_dirs = {"right": (1.0, 0.0), "left": (-1.0, 0.0), "bottom": (0.0, 1.0), "top": (0.0, -1.0)}
    if iop is not None and len(iop) == 6:
        row, col = np.asarray(iop[:3], float), np.asarray(iop[3:], float)
        for edge, (du, dv) in screen_dirs.items():
            wx, wy = t.screen_vector_to_world(du, dv)
            # world x follows the row direction per sx mm, world y the column direction
            out[edge] = direction_label(row * wx + col * wy)
        return out
    if len(patient_orientation) == 2 and all(patient_orientation):
        row_code, col_code = str(patient_orientation[0]), str(patient_orientation[1])
        opposite = lambda code: "".join(_OPPOSITE.get(c, c) for c in code)  # noqa: E731
        for edge, (du, dv) in screen_dirs.items():
            wx, wy = t.screen_vector_to_world(du, dv)
            if abs(wx) >= abs(wy):
                out[edge] = row_code if wx > 0 else opposite(row_code)
            else:
                out[edge] = col_code if wy > 0 else opposite(col_code)
    return out


def scale_bar(t: ViewTransform, fraction: float = 0.25) -> tuple[float, str]:
    """(length in screen pixels, label) of a round-length bar at most ``fraction`` of the width."""
    limit_mm = fraction * t.width / t.ppm
    exponent = math.floor(math.log10(max(limit_mm, 1e-6)))
    best = 10.0**exponent
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * 10.0**exponent <= limit_mm:
            best = step * 10.0**exponent
    label = f"{best / 10:g} cm" if best >= 10 else f"{best:g} mm"
    return best * t.ppm, label


@dataclass
class CornerText:
    top_left: str
    top_right: str
    bottom_left: str
    bottom_right: str


@dataclass(frozen=True)
class HeaderText:
    """The header-derived parts of the corner text (computed once per series, not per frame)."""

    top_left: str
    top_right: str
    modality: str
    series: str
    color: bool
    lossy: bool


def header_text(ds: Any) -> HeaderText:
    sex_age = " ".join(v for v in (_text(ds, "PatientSex"), _text(ds, "PatientAge")) if v)
    top_left = "\n".join(v for v in (
        _text(ds, "PatientName").replace("^", " "),
        f"ID: {_text(ds, 'PatientID')}" if _text(ds, "PatientID") else "",
        " ".join(v for v in (_date(_text(ds, "PatientBirthDate")), sex_age) if v),
    ) if v)
    top_right = "\n".join(v for v in (
        _text(ds, "InstitutionName"),
        _text(ds, "StudyDescription"),
        " ".join(v for v in (_date(_text(ds, "StudyDate")), _time(_text(ds, "StudyTime"))) if v),
        f"Acc: {_text(ds, 'AccessionNumber')}" if _text(ds, "AccessionNumber") else "",
    ) if v)
    series = " ".join(v for v in (f"Se: {_text(ds, 'SeriesNumber')}" if _text(ds, "SeriesNumber") else "",
                                  _text(ds, "SeriesDescription")) if v)
    color = int(ds.get("SamplesPerPixel") or 1) > 1 or _text(ds, "PhotometricInterpretation") == "PALETTE COLOR"
    return HeaderText(top_left, top_right, _text(ds, "Modality"), series, color,
                      _text(ds, "LossyImageCompression") == "01")


def corner_text(
    header: Any,
    *,
    state: ViewState,
    t: ViewTransform,
    window: Optional[Window],
    frame_label: str,
    position: Optional[float] = None,
    thickness: Optional[float] = None,
    calibration_note: str = "",
    extra_right: str = "",
) -> CornerText:
    """Corner overlays like Weasis/RadiAnt: patient, study, series/slice, window/zoom.

    ``header`` is the series' dataset or its precomputed :class:`HeaderText`.
    """
    h = header if isinstance(header, HeaderText) else header_text(header)
    slice_line = " ".join(v for v in (
        f"Pos: {position:.1f} mm" if position is not None else "",
        f"T: {thickness:g} mm" if thickness else "",
    ) if v)
    bottom_left = "\n".join(v for v in (h.modality, h.series, frame_label, slice_line) if v)
    if window is None:
        wl = "" if h.color or extra_right.startswith("GSPS") else "WL: VOI LUT"
    else:
        wl = f"WL: {window[0]:.0f} WW: {window[1]:.0f}"
    if state.preset_name:
        wl += f" ({state.preset_name})"
    view = [f"Zoom: {t.pixel_zoom * 100:.0f}%"]
    if t.rotation:
        view.append(f"Rot: {t.rotation * 90}\u00b0")
    if t.hflip:
        view.append("Flip H")
    if state.invert:
        view.append("Inverted")
    lossy = "LOSSY" if h.lossy else ""
    bottom_right = "\n".join(v for v in (extra_right, wl, " ".join(view), calibration_note, lossy) if v)
    return CornerText(h.top_left, h.top_right, bottom_left, bottom_right)
