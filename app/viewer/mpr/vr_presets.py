"""Volume rendering presets: colour and opacity transfer functions (numbers only, no VTK).

CT presets are in Hounsfield units. The MR preset is relative: its x values are fractions of
the volume's 1..99.5 percentile range, resolved with :func:`resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Colour = tuple[float, float, float, float]  # (x, r, g, b)
Opacity = tuple[float, float]  # (x, alpha)


@dataclass(frozen=True)
class VrPreset:
    name: str
    colours: tuple[Colour, ...]
    opacities: tuple[Opacity, ...]
    relative: bool = False
    shade: bool = True
    ambient: float = 0.2
    diffuse: float = 0.9
    specular: float = 0.2


PRESETS: dict[str, VrPreset] = {p.name: p for p in (
    VrPreset("CT bone",
             ((-1000, 0, 0, 0), (150, 0.75, 0.45, 0.3), (350, 0.95, 0.85, 0.7), (1500, 1, 1, 1)),
             ((-1000, 0), (140, 0), (250, 0.2), (600, 0.65), (1500, 0.9))),
    VrPreset("CT soft tissue",
             ((-1000, 0, 0, 0), (-300, 0.55, 0.25, 0.15), (40, 0.9, 0.55, 0.45), (300, 1, 0.9, 0.8), (1500, 1, 1, 1)),
             ((-1000, 0), (-400, 0), (-150, 0.05), (40, 0.2), (300, 0.45), (1500, 0.8))),
    VrPreset("CT angio",
             ((-1000, 0, 0, 0), (120, 0.6, 0.05, 0.05), (250, 0.95, 0.3, 0.2), (600, 1, 0.95, 0.85), (2000, 1, 1, 1)),
             ((-1000, 0), (110, 0), (200, 0.25), (400, 0.7), (2000, 0.9))),
    VrPreset("MR",
             ((0.0, 0, 0, 0), (0.35, 0.45, 0.3, 0.25), (0.7, 0.9, 0.8, 0.7), (1.0, 1, 1, 1)),
             ((0.0, 0), (0.25, 0), (0.45, 0.12), (0.8, 0.5), (1.0, 0.8)), relative=True, specular=0.1),
)}


def default_preset(modality: str) -> str:
    """CT -> soft tissue, anything else -> MR (relative)."""
    return "CT soft tissue" if modality.upper() == "CT" else "MR"


def resolve(preset: VrPreset, values: np.ndarray) -> tuple[tuple[Colour, ...], tuple[Opacity, ...]]:
    """Absolute transfer-function points for ``values`` (relative presets scaled to the data)."""
    if not preset.relative:
        return preset.colours, preset.opacities
    step = max(1, int(round((values.size / 1_000_000) ** (1 / 3)))) if values.ndim == 3 else 1
    sample = values[::step, ::step, ::step] if values.ndim == 3 else values
    lo, hi = (float(v) for v in np.percentile(sample, [1.0, 99.5]))
    span = max(hi - lo, 1.0)
    colours = tuple((lo + x * span, r, g, b) for x, r, g, b in preset.colours)
    opacities = tuple((lo + x * span, a) for x, a in preset.opacities)
    return colours, opacities
