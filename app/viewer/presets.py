"""Window/level presets: fixed CT presets, the header's windows, and automatic windows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from app.viewer.state import Window

#: CT presets (centre, width) in HU, in the order radiologists reach for them.
CT_PRESETS: tuple[tuple[str, Window], ...] = (
    ("Brain", (40.0, 80.0)),
    ("Subdural", (75.0, 215.0)),
    ("Stroke", (40.0, 40.0)),
    ("Lung", (-600.0, 1500.0)),
    ("Mediastinum", (50.0, 350.0)),
    ("Abdomen", (40.0, 400.0)),
    ("Liver", (60.0, 160.0)),
    ("Bone", (400.0, 1800.0)),
)


@dataclass(frozen=True)
class Preset:
    """One entry of the presets menu; ``window`` None means the header default."""

    name: str
    window: Window | None
    shortcut: str = ""


def auto_window(values: np.ndarray, low: float = 0.5, high: float = 99.5) -> Window:
    """Window over the ``low``..``high`` percentiles of a (sub-sampled) frame."""
    flat = np.asarray(values)
    if flat.ndim > 2:
        flat = flat.mean(axis=-1)
    step = max(1, int(np.sqrt(flat.size / 65536)))
    sample = flat[::step, ::step].astype(np.float64, copy=False)
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        lo, hi = float(sample.min()), float(sample.max())
    return (float(lo + hi) / 2.0, max(float(hi - lo), 1.0))


def presets_for(modality: str, header_windows: Sequence[Window], explanations: Sequence[str] = ()) -> list[Preset]:
    """Presets menu for a series: CT fixed presets, then header windows, then Auto."""
    out: list[Preset] = [Preset("Default", None, "0")]
    if modality.upper() == "CT":
        out += [Preset(name, w, str(i + 1)) for i, (name, w) in enumerate(CT_PRESETS)]
    first_free = len(out)  # non-CT: the header's windows take the keys 1..8
    for i, window in enumerate(header_windows):
        label = explanations[i] if i < len(explanations) and explanations[i] else f"Header {i + 1}"
        key = str(first_free + i) if first_free + i <= 8 else ""
        out.append(Preset(f"{label} ({window[0]:g}/{window[1]:g})", window, key))
    out.append(Preset("Auto", (float("nan"), float("nan")), "9"))
    return out


def is_auto(window: Window | None) -> bool:
    return window is not None and (window[0] != window[0])  # NaN marks "compute from the frame"
