"""Modality values -> uint8 display pixels, written into a caller-owned buffer.

Grey frames of integer values (int16 volumes, 8/16-bit stored values) go through one
lookup table over the whole value domain (built once per window, cached), so a 512x512
slice is one ``np.take`` (~0.3 ms) into the buffer VTK renders from. The window follows
PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT, SIGMOID) exactly, via app.dicom.pixels.voi_unit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

import numpy as np

from app.dicom.pixels import Lut, voi_unit
from app.viewer.state import Window


@lru_cache(maxsize=32)
def grey_table(dtype: str, window: Window, function: str, invert: bool) -> np.ndarray:
    """uint8 table indexed by the unsigned bit pattern of every value of ``dtype``.

    LINEAR windows are flat outside [centre - width/2, centre + width/2]: only that ramp is
    computed (a W/L drag builds a new table per frame; 65536 float values cost ~0.8 ms).
    """
    dt = np.dtype(dtype)
    if function in ("LINEAR", "LINEAR_EXACT") and dt.itemsize == 2:
        table = _linear_table(dt, window, function, invert)
    else:
        domain = np.arange(2 ** (8 * dt.itemsize), dtype=dt.str.replace("i", "u")).view(dt)
        table = _to_bytes(voi_unit(domain, window, function), invert)
    table.flags.writeable = False
    return table


def _to_bytes(unit: np.ndarray, invert: bool) -> np.ndarray:
    return np.rint((1.0 - unit if invert else unit) * 255.0).astype(np.uint8)


def _linear_table(dt: np.dtype, window: Window, function: str, invert: bool) -> np.ndarray:
    """grey_table for a (clipped, monotone) linear window: exact ramp, constant ends."""
    info = np.iinfo(dt)
    centre, width = float(window[0]), float(window[1])
    lo = int(max(info.min, np.floor(centre - width / 2.0) - 2))
    hi = int(min(info.max, np.ceil(centre + width / 2.0) + 2))
    lo, hi = min(lo, info.max), max(hi, info.min)
    by_value = np.empty(2 ** (8 * dt.itemsize), np.uint8)  # index = value - info.min
    ramp = _to_bytes(voi_unit(np.arange(lo, hi + 1, dtype=np.float64), window, function), invert)
    by_value[lo - info.min:hi - info.min + 1] = ramp
    by_value[:lo - info.min] = ramp[0]
    by_value[hi - info.min + 1:] = ramp[-1]
    # unsigned bit pattern order: for signed types the negative half comes second
    return by_value if info.min == 0 else np.concatenate((by_value[-info.min:], by_value[:-info.min]))


@lru_cache(maxsize=8)
def voi_lut_table(dtype: str, lut: Lut, bits: int, invert: bool) -> np.ndarray:
    """uint8 table applying a VOI LUT Sequence to every value of ``dtype``."""
    dt = np.dtype(dtype)
    domain = np.arange(2 ** (8 * dt.itemsize), dtype=dt.str.replace("i", "u")).view(dt)
    first, data, table_dtype = lut
    table = np.frombuffer(data, dtype=table_dtype)
    index = np.clip(domain.astype(np.int64) - first, 0, len(table) - 1)
    return _to_bytes(np.clip(table[index] / float(2 ** max(bits, 1) - 1), 0.0, 1.0), invert)


def _tabled(values: np.ndarray) -> bool:
    return values.dtype.kind in "ui" and values.dtype.itemsize <= 2


def grey_to_uint8(
    values: np.ndarray,
    window: Window,
    *,
    function: str = "LINEAR",
    invert: bool = False,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """(H, W) modality values -> (H, W) uint8 into ``out`` (allocated when None)."""
    if out is None:
        out = np.empty(values.shape, np.uint8)
    if _tabled(values):
        table = grey_table(values.dtype.str, (float(window[0]), float(window[1])), function, bool(invert))
        np.take(table, values.view(values.dtype.str.replace("i", "u")), out=out)
        return out
    unit = voi_unit(values, window, function)
    if invert:
        unit = 1.0 - unit
    np.rint(unit * 255.0, out=unit)
    out[...] = unit
    return out


def lut_to_uint8(values: np.ndarray, lut: Lut, bits: int, invert: bool, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Apply a VOI LUT Sequence (when the header has no window) to modality values."""
    if out is None:
        out = np.empty(values.shape, np.uint8)
    if _tabled(values):
        table = voi_lut_table(values.dtype.str, lut, bits, bool(invert))
        np.take(table, values.view(values.dtype.str.replace("i", "u")), out=out)
        return out
    first, data, table_dtype = lut
    table = np.frombuffer(data, dtype=table_dtype)
    index = np.clip(np.rint(values).astype(np.int64) - first, 0, len(table) - 1)
    unit = np.clip(table[index] / float(2 ** max(bits, 1) - 1), 0.0, 1.0)
    out[...] = np.rint((1.0 - unit if invert else unit) * 255.0)
    return out


def color_to_uint8(rgb: np.ndarray, window: Optional[Window], invert: bool, out: Optional[np.ndarray] = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB with an optional linear window on all channels and inversion."""
    if out is None:
        out = np.empty(rgb.shape, np.uint8)
    if window is None and not invert:
        np.copyto(out, rgb)
        return out
    table = grey_table("|u1", window or (127.5, 256.0), "LINEAR", bool(invert))
    np.take(table, rgb, out=out)
    return out


def window_from_range(values: np.ndarray) -> Window:
    """Window spanning min..max of the values (used when the header has none)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return ((lo + hi) / 2.0 + 0.5, max(hi - lo, 1.0) + 1.0)


def effective_window(params: Any, values: np.ndarray, window: Optional[Window], index: int = 0) -> Optional[Window]:
    """The window in force: the user's, else the header's ``index``-th, else None for a
    VOI LUT Sequence, else min..max of the frame."""
    if window is not None:
        return window
    if params.windows:
        return params.windows[min(index, len(params.windows) - 1)]
    if params.voi_lut is not None:
        return None
    return window_from_range(values)


def frame_to_uint8(
    values: np.ndarray, params: Any, window: Optional[Window], invert: bool, out: np.ndarray, index: int = 0
) -> Optional[Window]:
    """Write the display pixels of one frame into ``out``; returns the window used (None: VOI LUT).

    ``invert`` is the user's inversion; MONOCHROME1 inverts on top of it.
    """
    if values.ndim == 3:
        color_to_uint8(values, window, invert, out)
        return window
    flip = bool(invert) != bool(params.invert)
    used = effective_window(params, values, window, index)
    if used is None:
        lut_to_uint8(values, params.voi_lut, params.voi_lut_bits, flip, out)
        return None
    function = params.voi_function if window is None else "LINEAR"
    grey_to_uint8(values, used, function=function, invert=flip, out=out)
    return used
