"""Thick-slab rendering in the 2D viewer (Qt-free): MIP, MinIP or average over the slices of a slab.

A slab of thickness T mm centred on the current slice holds the slices whose centres lie within
T/2 of its centre (along the series normal); the image shown is their voxel-wise max, min or mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from app.dicom.codecs import DecodeError

MODES = ("", "mip", "minip", "avg")
LABELS = {"mip": "MIP", "minip": "MinIP", "avg": "Average"}
THICKNESSES = (2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0)


@dataclass
class Slab:
    mode: str = ""  # "" = off, else one of MODES
    thickness: float = 10.0  # mm

    @property
    def label(self) -> str:
        return f"{LABELS[self.mode]} {self.thickness:g} mm" if self.mode else ""

    def cycle(self) -> str:
        """Off -> MIP -> MinIP -> average -> off; returns the new mode."""
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        return self.mode

    def step(self, delta: int) -> float:
        """The next thicker (``delta`` 1) or thinner (-1) of THICKNESSES."""
        if delta > 0:
            self.thickness = next((t for t in THICKNESSES if t > self.thickness), THICKNESSES[-1])
        else:
            self.thickness = next((t for t in reversed(THICKNESSES) if t < self.thickness), THICKNESSES[0])
        return self.thickness


def slab_indices(positions: Sequence[Optional[float]], frame: int, thickness: float) -> list[int]:
    """Frames whose position (mm along the normal) is within ``thickness``/2 of frame ``frame``'s."""
    centre = positions[frame]
    if centre is None:
        return [frame]
    half = thickness / 2.0 + 1e-3
    return [i for i, p in enumerate(positions) if p is not None and abs(p - centre) <= half] or [frame]


def combine(images: Sequence[np.ndarray], mode: str) -> np.ndarray:
    """Voxel-wise max / min / mean of equally shaped frames."""
    if mode == "mip":
        return np.maximum.reduce(list(images))
    if mode == "minip":
        return np.minimum.reduce(list(images))
    if mode == "avg":
        return np.mean(np.stack(images), axis=0, dtype=np.float64).astype(np.float32)
    raise ValueError(f"unknown slab mode {mode!r}")


def applies(model: Any) -> bool:
    """A slab is drawn for a grey volume (sorted parallel slices) with the slab switched on."""
    slab = getattr(model, "slab", None)
    series = model.series
    return bool(slab is not None and slab.mode and series is not None and series.is_volume and not series.is_color)


def slab_values(model: Any) -> np.ndarray:
    """The slab image of a ViewportModel's current frame (memoised for the last frame asked)."""
    slab, series, frame = model.slab, model.series, model.state.frame
    key = (series.series_uid, frame, slab.mode, slab.thickness)
    cached = getattr(model, "_slab_cached", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    images, shape = [], None
    for i in slab_indices(series.positions(), frame, slab.thickness):
        try:
            image = model.frames.get(i)
        except DecodeError:
            continue  # a slice that cannot be decoded is left out of the slab (the current one shows why)
        if shape is None or image.shape == shape:
            shape = image.shape
            images.append(image)
    if not images:
        return model.frames.get(frame)  # raises the current frame's DecodeError
    out = combine(images, slab.mode)
    model._slab_cached = (key, out)
    model.slab_count = len(images)
    return out
