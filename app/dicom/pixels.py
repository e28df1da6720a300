"""Stored pixel values -> modality values -> display (uint8 grey or RGB).

Grey images go through one lookup table built over the whole stored-value domain (256 or
65536 entries: modality LUT / rescale, VOI window or VOI LUT, MONOCHROME1 inversion), so a
512x512 int16 slice costs one indexed gather. Enhanced multi-frame objects use each frame's
functional groups (rescale, window) with the shared groups as fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Optional

import numpy as np

from app.dicom.series import frame_item, frame_value

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset

Window = tuple[float, float]  # (centre, width)
Lut = tuple[int, bytes, str]  # (first stored value mapped, table bytes, numpy dtype)


@dataclass(frozen=True)
class DisplayParams:
    """Everything needed to map one frame's stored values to display values (hashable)."""

    photometric: str
    samples: int
    bits_stored: int
    slope: float = 1.0
    intercept: float = 0.0
    modality_lut: Optional[Lut] = None
    windows: tuple[Window, ...] = ()
    voi_function: str = "LINEAR"
    voi_lut: Optional[Lut] = None
    voi_lut_bits: int = 0

    @property
    def invert(self) -> bool:
        """MONOCHROME1: low values are displayed bright."""
        return self.photometric == "MONOCHROME1"


def _multi(value: object) -> list[float]:
    if value in (None, ""):
        return []
    return [float(v) for v in value] if hasattr(value, "__iter__") and not isinstance(value, str) else [float(value)]


def _descriptor(value: object, what: str) -> tuple[int, int, int]:
    """(entries, first mapped, bits) of a LUT descriptor; DecodeError when absent or absurd."""
    from app.dicom.codecs import DecodeError

    try:
        entries, first, bits = (int(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"invalid {what} descriptor {str(value)[:40]}") from exc
    if not (0 <= entries < 2**16 and -(2**15) <= first < 2**16 and 8 <= bits <= 16):
        raise DecodeError(f"invalid {what} descriptor [{entries}, {first}, {bits}]")
    return entries, first, bits


def _check_palette(ds: "Dataset") -> None:
    """PALETTE COLOR needs three usable lookup tables (PS3.3 C.7.6.3.1.5-6)."""
    from app.dicom.codecs import DecodeError

    for colour in ("Red", "Green", "Blue"):
        desc = ds.get(f"{colour}PaletteColorLookupTableDescriptor")
        if desc is None:
            raise DecodeError(f"PALETTE COLOR image without its {colour.lower()} palette lookup table")
        entries = _descriptor(desc, f"{colour.lower()} palette")[0] or 2**16
        data = ds.get(f"{colour}PaletteColorLookupTableData")
        if data is None and ds.get(f"Segmented{colour}PaletteColorLookupTableData") is None:
            raise DecodeError(f"PALETTE COLOR image without its {colour.lower()} palette data")
        if data is not None and len(data) not in (entries, entries + 1, 2 * entries):
            raise DecodeError(f"{colour.lower()} palette holds {len(data)} bytes for {entries} entries")


def _lut_from_item(item: "Dataset", ds: "Dataset", kind: str) -> tuple[Lut, int]:
    """(first mapped, table, dtype) and output bits of a Modality or VOI LUT item.

    pydicom parses the LUT (descriptor signedness, OW/US/SS data, 8-bit packing): we apply
    it to the LUT's own input range and keep the resulting table.
    """
    from pydicom import Dataset
    from pydicom.pixels import apply_modality_lut, apply_voi

    nr_entries, first_map, nr_bits = _descriptor(item.get("LUTDescriptor"), f"{kind} LUT")
    nr_entries = nr_entries or 2**16
    if first_map >= 2**15 and int(ds.get("PixelRepresentation", 0)) == 1:
        first_map -= 2**16  # descriptor is US but the first mapped value is signed
    holder = Dataset()
    holder.file_meta = ds.file_meta
    holder.set_original_encoding(*ds.original_encoding)
    holder.PixelRepresentation = 0
    lut = Dataset()
    lut.LUTDescriptor = [nr_entries % 2**16, 0, nr_bits]  # table index = input - first_map
    lut.add(item["LUTData"])
    inputs = np.arange(nr_entries, dtype=np.int64)
    if kind == "modality":
        holder.ModalityLUTSequence = [lut]
        table = apply_modality_lut(inputs, holder)
    else:
        holder.VOILUTSequence = [lut]
        table = apply_voi(inputs, holder, 0)
    return (first_map, np.asarray(table, dtype=np.float64).tobytes(), "f8"), nr_bits


def display_params(ds: "Dataset", frame: int = 0) -> DisplayParams:
    """Resolve modality and VOI attributes of ``frame`` (functional groups, then top level)."""
    pvt = "PixelValueTransformationSequence"
    voi = "FrameVOILUTSequence"
    slope = frame_value(ds, frame, pvt, "RescaleSlope", 1.0)
    intercept = frame_value(ds, frame, pvt, "RescaleIntercept", 0.0)
    modality_lut = None
    if ds.get("ModalityLUTSequence"):
        modality_lut = _lut_from_item(ds.ModalityLUTSequence[0], ds, "modality")[0]
    centres = _multi(frame_value(ds, frame, voi, "WindowCenter"))
    widths = _multi(frame_value(ds, frame, voi, "WindowWidth"))
    windows = tuple((c, w) for c, w in zip(centres, widths) if w > 0)
    voi_lut, voi_bits = None, 0
    voi_item = frame_item(ds, frame, voi)
    voi_seq = (voi_item or ds).get("VOILUTSequence") or ds.get("VOILUTSequence")
    if voi_seq:
        voi_lut, voi_bits = _lut_from_item(voi_seq[0], ds, "voi")
    function = str(frame_value(ds, frame, voi, "VOILUTFunction", "LINEAR")).upper()
    return DisplayParams(
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper(),
        samples=int(ds.get("SamplesPerPixel") or 1),
        bits_stored=int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8),
        slope=float(slope),
        intercept=float(intercept),
        modality_lut=modality_lut,
        windows=windows,
        voi_function=function,
        voi_lut=voi_lut,
        voi_lut_bits=voi_bits,
    )


def _apply_lut(values: np.ndarray, lut: Lut) -> np.ndarray:
    first, data, dtype = lut
    table = np.frombuffer(data, dtype=dtype)
    index = np.clip(np.rint(values) - first, 0, len(table) - 1).astype(np.intp)
    return table[index]


def modality_values(stored: np.ndarray, params: DisplayParams) -> np.ndarray:
    """Modality LUT Sequence or rescale slope/intercept applied (float64 unless identity)."""
    if params.modality_lut is not None:
        return _apply_lut(stored, params.modality_lut)
    if params.slope == 1.0 and params.intercept == 0.0:
        return stored
    return stored * params.slope + params.intercept


def voi_unit(values: np.ndarray, window: Window, function: str = "LINEAR") -> np.ndarray:
    """PS3.3 C.11.2.1.2 window functions mapped to [0, 1] (float64)."""
    centre, width = window
    x = np.asarray(values, dtype=np.float64)
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (x - centre) / width))
    if function == "LINEAR_EXACT":
        return np.clip((x - centre) / width + 0.5, 0.0, 1.0)
    if width <= 1:  # LINEAR with width 1 is a threshold at centre - 0.5
        return (x > centre - 0.5).astype(np.float64)
    return np.clip((x - (centre - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def default_window(modality: np.ndarray) -> Window:
    """Window spanning min..max of the modality values (used when the header has none)."""
    lo, hi = float(np.min(modality)), float(np.max(modality))
    return ((lo + hi) / 2.0 + 0.5, max(hi - lo, 1.0) + 1.0)


def _to_unit(modality: np.ndarray, params: DisplayParams, window: Optional[Window], index: int) -> np.ndarray:
    if window is not None:
        return voi_unit(modality, window, "LINEAR" if params.voi_function == "LINEAR_EXACT" else params.voi_function)
    if params.windows:
        return voi_unit(modality, params.windows[min(index, len(params.windows) - 1)], params.voi_function)
    if params.voi_lut is not None:
        top = float(2 ** max(params.voi_lut_bits, 1) - 1)
        return np.clip(_apply_lut(modality, params.voi_lut) / top, 0.0, 1.0)
    raise LookupError("no window")


@lru_cache(maxsize=64)
def _grey_table(params: DisplayParams, dtype: str, window: Optional[Window], index: int) -> np.ndarray:
    """uint8 table indexed by the unsigned bit pattern of every possible stored value."""
    unsigned = np.dtype(dtype).str.replace("i", "u")
    domain = np.arange(2 ** (8 * np.dtype(dtype).itemsize), dtype=unsigned).view(dtype)
    unit = _to_unit(modality_values(domain, params), params, window, index)
    if params.invert:
        unit = 1.0 - unit
    return np.rint(unit * 255.0).astype(np.uint8)


def grey_to_display(
    stored: np.ndarray, params: DisplayParams, window: Optional[Window] = None, window_index: int = 0
) -> np.ndarray:
    """(H, W) stored values -> (H, W) uint8 for display."""
    if stored.dtype.kind in "ui" and stored.dtype.itemsize <= 2:
        if window is None and not params.windows and params.voi_lut is None:
            window = default_window(modality_values(np.array([stored.min(), stored.max()]), params))
        table = _grey_table(params, stored.dtype.str, window, window_index)
        return np.take(table, stored.view(stored.dtype.str.replace("i", "u")))
    modality = modality_values(stored.astype(np.float64, copy=False), params)
    if window is None and not params.windows and params.voi_lut is None:
        window = default_window(modality)
    unit = _to_unit(modality, params, window, window_index)
    if params.invert:
        unit = 1.0 - unit
    return np.rint(unit * 255.0).astype(np.uint8)


def color_to_display(arr: np.ndarray, ds: "Dataset", *, already_rgb: bool = True) -> np.ndarray:
    """PALETTE COLOR / RGB / YBR frame -> (H, W, 3) uint8 RGB."""
    from pydicom.pixels import apply_color_lut, convert_color_space

    pi = str(ds.get("PhotometricInterpretation", "RGB")).upper()
    if pi == "PALETTE COLOR":
        _check_palette(ds)
    if pi == "PALETTE COLOR" and arr.dtype.kind == "u" and arr.dtype.itemsize <= 2:
        return np.take(_palette_table(ds, arr.dtype.itemsize), arr, axis=0)
    if pi == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
    elif pi.startswith("YBR") and pi not in ("YBR_ICT", "YBR_RCT") and not already_rgb:
        arr = convert_color_space(arr, pi, "RGB")
    if arr.dtype == np.uint8:
        return arr
    bits = 16 if pi == "PALETTE COLOR" else int(ds.get("BitsStored") or 8)
    return (arr.astype(np.uint32) >> max(bits - 8, 0)).clip(0, 255).astype(np.uint8)


_PALETTE_KEYWORDS = tuple(
    f"{prefix}{colour}PaletteColorLookupTable{kind}"
    for colour in ("Red", "Green", "Blue")
    for prefix, kind in (("", "Descriptor"), ("", "Data"), ("Segmented", "Data"))
)
_palettes: dict[tuple, np.ndarray] = {}


def _palette_table(ds: "Dataset", itemsize: int) -> np.ndarray:
    """(2**bits, 3) uint8 RGB for every possible stored value (pydicom's LUT, cached)."""
    from pydicom.pixels import apply_color_lut

    key = (itemsize,) + tuple(
        bytes(v) if isinstance(v := ds.get(k, ""), (bytes, bytearray)) else str(v) for k in _PALETTE_KEYWORDS
    )
    table = _palettes.get(key)
    if table is None:
        domain = np.arange(2 ** (8 * itemsize), dtype=f"u{itemsize}")[np.newaxis, :]
        rgb = apply_color_lut(domain, ds)[0]
        table = rgb if rgb.dtype == np.uint8 else (rgb >> 8).astype(np.uint8)
        if len(_palettes) > 8:
            _palettes.clear()
        _palettes[key] = table
    return table


def to_display(
    ds: "Dataset",
    stored: np.ndarray,
    frame: int = 0,
    *,
    window: Optional[Window] = None,
    window_index: int = 0,
    already_rgb: bool = True,
) -> np.ndarray:
    """One frame of stored values (as from ``decode_frame``) -> uint8 (H, W) or (H, W, 3).

    ``window`` (centre, width) overrides the header; ``window_index`` picks one of several
    header windows. ``already_rgb``: YBR data was converted during decoding (the default).
    """
    params = display_params(ds, frame)
    if params.samples > 1 or params.photometric == "PALETTE COLOR":
        return color_to_display(stored, ds, already_rgb=already_rgb)
    return grey_to_display(stored, params, window, window_index)


def fits_int16(values: np.ndarray) -> bool:
    """True if ``values`` are whole numbers within the int16 range."""
    if values.dtype.kind == "f" and not np.array_equal(values, np.rint(values)):
        return False
    return bool(values.min() >= -32768 and values.max() <= 32767)


def into_int16(stored: np.ndarray, slope: float, intercept: float, out: np.ndarray) -> Optional[bool]:
    """Integer rescale into int16 ``out`` with mod-2^16 arithmetic (exact when the result fits).

    None when not an integer rescale; False when the result does not fit int16.
    """
    if not _integral(stored, slope, intercept):
        return None
    ends = sorted((int(stored.min()) * slope + intercept, int(stored.max()) * slope + intercept))
    if ends[0] < -32768 or ends[1] > 32767:
        return False
    as_u16 = out.view(np.uint16)
    if not np.may_share_memory(stored, out):
        np.copyto(as_u16, stored, casting="unsafe")
    if slope != 1.0:
        np.multiply(as_u16, np.uint16(int(slope) & 0xFFFF), out=as_u16)
    if intercept:
        np.add(as_u16, np.uint16(int(intercept) & 0xFFFF), out=as_u16)
    return True


def _integral(stored: np.ndarray, slope: float, intercept: float) -> bool:
    return (
        stored.dtype.kind in "ui"
        and stored.dtype.itemsize <= 2
        and float(slope).is_integer()
        and float(intercept).is_integer()
    )


def rescale(stored: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Rescale slope/intercept; exact int32 arithmetic for integer data and coefficients."""
    if slope == 1.0 and intercept == 0.0:
        return stored
    if _integral(stored, slope, intercept):
        out = stored.astype(np.int32)
        if slope != 1.0:
            out *= int(slope)
        out += int(intercept)
        return out
    return stored * slope + intercept
