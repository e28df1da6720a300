"""DICOM SEG outlines and overlay planes as one RGBA layer over the displayed frame; a segment that marks an
AI's suspected critical finding (haemorrhage in the head, LVO, PE: app.ai.codes) is also filled, translucent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

OVERLAY_RGBA = (255, 255, 64, 255)  # overlay planes: yellow
FINDING_FILL_ALPHA = 72  # segments marking a suspected critical finding are filled, translucent
DEFAULT_SEG_RGB = ((255, 64, 64), (64, 255, 64), (64, 128, 255), (255, 160, 0), (255, 0, 255))


@dataclass
class SegFrame:
    mask: np.ndarray  # (rows, cols) bool
    segment: int
    source_sop: str
    ipp: Optional[tuple[float, float, float]]
    fill: int = 0  # alpha of a translucent fill under the outline (an AI's suspected critical finding)


@dataclass
class Segmentation:
    """Frames of one SEG object with where each applies and the segments' colours."""

    frames: list[SegFrame] = field(default_factory=list)
    colours: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    findings: dict[int, str] = field(default_factory=dict)  # segment -> critical finding it marks ("ICH")
    frame_of_reference: str = ""

    def masks_for(self, sop_uid: str, ipp: Optional[tuple[float, ...]], shape: tuple[int, int]) -> list[SegFrame]:
        """Frames that apply to the image ``sop_uid`` (or, failing that, lie at ``ipp``)."""
        found = [f for f in self.frames if f.source_sop and f.source_sop == sop_uid and f.mask.shape == shape]
        if found or ipp is None:
            return found
        return [f for f in self.frames if f.ipp is not None and f.mask.shape == shape
                and np.linalg.norm(np.subtract(f.ipp, ipp)) < 0.01]


def _critical_finding(segment: Any) -> str:
    """The AI critical finding (ICH, LVO, PE) a segment's property type names, '' for any other segment."""
    from app.ai.codes import match

    codes = segment.get("SegmentedPropertyTypeCodeSequence") or []
    if not codes:
        return ""
    code = codes[0]
    site = " ".join(str(r.get("CodeMeaning", "")) for r in segment.get("AnatomicRegionSequence") or [])
    found = match(str(code.get("CodingSchemeDesignator", "")), str(code.get("CodeValue", "")),
                  str(code.get("CodeMeaning", "")), f"{site} {segment.get('SegmentLabel', '')}")
    return found.label if found is not None and found.critical else ""


def _lab_to_rgb(lab: Any) -> Optional[tuple[int, int, int]]:
    """DICOM-scaled CIELab (0..65535) -> sRGB bytes (D65), good enough for outline colours."""
    try:
        L, a, b = (float(v) for v in lab)
    except (TypeError, ValueError):
        return None
    L, a, b = L * 100.0 / 65535.0, a * 255.0 / 65535.0 - 128.0, b * 255.0 / 65535.0 - 128.0
    fy = (L + 16.0) / 116.0
    fx, fz = fy + a / 500.0, fy - b / 200.0
    f = lambda t: t**3 if t**3 > 0.008856 else (t - 16.0 / 116.0) / 7.787  # noqa: E731
    x, y, z = 0.95047 * f(fx), 1.0 * f(fy), 1.08883 * f(fz)
    rgb = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]) @ [x, y, z]
    rgb = np.where(rgb > 0.0031308, 1.055 * np.power(np.clip(rgb, 0, None), 1 / 2.4) - 0.055, 12.92 * rgb)
    return tuple(int(v) for v in np.clip(rgb * 255.0, 0, 255))  # type: ignore[return-value]


def read_segmentation(ds: Any) -> Segmentation:
    """Parse a SEG dataset (binary or fractional frames; fractional thresholded at half)."""
    from app.dicom.codecs import decode_all
    from app.dicom.series import frame_item

    pixels = decode_all(ds)
    pixels = pixels[None] if pixels.ndim == 2 else pixels
    seg = Segmentation(frame_of_reference=str(ds.get("FrameOfReferenceUID", "")))
    for i, item in enumerate(ds.get("SegmentSequence") or []):
        number = int(item.SegmentNumber)
        seg.colours[number] = _lab_to_rgb(item.get("RecommendedDisplayCIELabValue")) or DEFAULT_SEG_RGB[i % 5]
        seg.labels[number] = str(item.get("SegmentLabel", number))
        finding = _critical_finding(item)
        if finding:
            seg.findings[number] = finding
    fractional = str(ds.get("SegmentationType", "BINARY")).upper() == "FRACTIONAL"
    top = float(ds.get("MaximumFractionalValue") or 255)
    for i in range(pixels.shape[0]):
        ident = frame_item(ds, i, "SegmentIdentificationSequence")
        number = int(ident.ReferencedSegmentNumber) if ident is not None else 1
        deriv = frame_item(ds, i, "DerivationImageSequence")
        source = ""
        if deriv is not None and deriv.get("SourceImageSequence"):
            source = str(deriv.SourceImageSequence[0].ReferencedSOPInstanceUID)
        pos = frame_item(ds, i, "PlanePositionSequence")
        ipp = tuple(float(v) for v in pos.ImagePositionPatient) if pos is not None else None
        mask = pixels[i] > (top / 2.0 if fractional else 0)
        fill = FINDING_FILL_ALPHA if number in seg.findings else 0
        seg.frames.append(SegFrame(mask, number, source, ipp, fill))  # type: ignore[arg-type]
    return seg


def outline(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with at least one 4-neighbour outside it."""
    m = np.pad(mask, 1)
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def compose_rgba(shape: tuple[int, int], overlay_masks: list[np.ndarray], seg_frames: list[SegFrame],
                 colours: dict[int, tuple[int, int, int]]) -> Optional[np.ndarray]:
    """(H, W, 4) uint8 layer: overlay planes (yellow) and SEG outlines; None if empty."""
    if not overlay_masks and not seg_frames:
        return None
    rgba = np.zeros((*shape, 4), np.uint8)
    for mask in overlay_masks:
        rgba[mask] = OVERLAY_RGBA
    for f in seg_frames:
        if f.fill:  # a suspected finding stands out at any zoom: translucent fill, then its outline
            rgba[f.mask & (rgba[..., 3] == 0)] = (*colours.get(f.segment, DEFAULT_SEG_RGB[0]), f.fill)
    for f in seg_frames:
        rgb = colours.get(f.segment, DEFAULT_SEG_RGB[0])
        rgba[outline(f.mask)] = (*rgb, 255)
    return rgba


def overlay_plane_masks(ds: Any, frame: int, shape: tuple[int, int]) -> list[np.ndarray]:
    """DICOM overlay planes (60xx) of ``frame`` as full-image masks."""
    from app.dicom.overlays import overlay_mask, read_overlays

    try:
        overlays = read_overlays(ds, frame)
    except Exception:  # noqa: BLE001 - a broken overlay never stops the image
        return []
    return [overlay_mask(shape, overlays)] if overlays else []
