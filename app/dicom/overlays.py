"""DICOM overlay planes (60xx,3000) as boolean masks, and burning them onto display images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset


@dataclass(frozen=True)
class Overlay:
    """One overlay plane: ``mask`` (rows, cols) bool placed at 0-based ``origin`` (row, col)."""

    group: int
    mask: np.ndarray
    origin: tuple[int, int]
    kind: str = "G"  # G graphics, R region of interest
    label: str = ""
    description: str = ""


def overlay_groups(ds: "Dataset") -> list[int]:
    """Groups 0x6000..0x601E (even) that carry Overlay Data."""
    return [g for g in range(0x6000, 0x6020, 2) if (g, 0x3000) in ds]


def _frame_mask(ds: "Dataset", group: int, frame: int) -> np.ndarray | None:
    """The overlay bits for image ``frame`` (multi-frame overlays use Image Frame Origin)."""
    arr = ds.overlay_array(group)
    if arr.ndim == 2:
        return arr
    first = int(ds.get((group, 0x0051)).value if (group, 0x0051) in ds else 1) - 1
    index = frame - first
    return arr[index] if 0 <= index < arr.shape[0] else None


def read_overlays(ds: "Dataset", frame: int = 0) -> list[Overlay]:
    """All overlay planes of ``ds`` that apply to ``frame``; unreadable planes are skipped."""
    out = []
    for group in overlay_groups(ds):
        try:
            mask = _frame_mask(ds, group, frame)
        except (ValueError, AttributeError, KeyError):
            continue  # malformed plane (missing rows/cols/bits): ignore, never fail the image
        if mask is None:
            continue
        origin = ds.get((group, 0x0050))
        row, col = (int(v) - 1 for v in origin.value) if origin is not None else (0, 0)
        text = lambda el: str(ds[(group, el)].value) if (group, el) in ds else ""  # noqa: E731
        out.append(
            Overlay(
                group=group,
                mask=mask.astype(bool),
                origin=(row, col),
                kind=text(0x0040) or "G",
                label=text(0x1500),
                description=text(0x0022),
            )
        )
    return out


def overlay_mask(shape: tuple[int, int], overlays: list[Overlay]) -> np.ndarray:
    """Union of ``overlays`` placed on an image of ``shape`` (clipped to its bounds)."""
    out = np.zeros(shape, dtype=bool)
    for ov in overlays:
        r0, c0 = ov.origin
        rs, cs = max(r0, 0), max(c0, 0)
        re, ce = min(r0 + ov.mask.shape[0], shape[0]), min(c0 + ov.mask.shape[1], shape[1])
        if re > rs and ce > cs:
            out[rs:re, cs:ce] |= ov.mask[rs - r0 : re - r0, cs - c0 : ce - c0]
    return out


def burn_overlays(
    image: np.ndarray, overlays: list[Overlay], value: Union[int, tuple[int, int, int]] = 255
) -> np.ndarray:
    """Copy of a uint8 display ``image`` (H, W) or (H, W, 3) with overlay pixels set to ``value``."""
    mask = overlay_mask(image.shape[:2], overlays)
    out = image.copy()
    out[mask] = value
    return out
