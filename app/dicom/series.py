"""Per-slice header info (SliceRef), per-frame functional group lookups, one-slice loading.

A :class:`SliceRef` carries what geometry and volume loading need, so a cache index can
feed them without reparsing files. Enhanced multi-frame objects give one SliceRef per frame,
read from the Per-frame Functional Groups with the Shared Functional Groups as fallback.
:func:`load_slice` writes one slice's modality values into a volume, reading raw bytes
straight into it when the file is uncompressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from app.dicom import syntaxes

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset

Vec3 = tuple[float, float, float]
Cosines = tuple[float, float, float, float, float, float]

#: Header reads defer values longer than this (pixel data stays on disk).
DEFER_SIZE = 1024


@dataclass(frozen=True)
class SliceRef:
    """One image plane: a file (and frame) with the header values geometry/volume need.

    ``pixel_spacing`` is DICOM order (row spacing, column spacing). ``pixel_offset`` is the
    file offset of this frame's raw bytes for uncompressed little-endian data (None when
    unknown or not applicable); with it and the pixel format fields, volume loading reads
    the bytes without parsing the header.
    """

    path: str
    frame: int = 0
    ipp: Optional[Vec3] = None
    iop: Optional[Cosines] = None
    pixel_spacing: Optional[tuple[float, float]] = None
    rows: int = 0
    cols: int = 0
    instance_number: Optional[int] = None
    pixel_offset: Optional[int] = None
    transfer_syntax: Optional[str] = None
    bits_allocated: Optional[int] = None
    bits_stored: Optional[int] = None
    pixel_representation: Optional[int] = None
    samples_per_pixel: int = 1
    rescale_slope: Optional[float] = None
    rescale_intercept: Optional[float] = None

    @property
    def raw_readable(self) -> bool:
        """True when every field needed to read the raw bytes without parsing is known."""
        return (
            self.pixel_offset is not None
            and self.transfer_syntax in syntaxes.native_little_endian()
            and self.bits_allocated in (8, 16, 32)
            and self.pixel_representation in (0, 1)
            and self.samples_per_pixel == 1
            and self.rows > 0
            and self.cols > 0
        )


def frame_item(ds: "Dataset", frame: int, sequence: str) -> Optional["Dataset"]:
    """First item of functional-group macro ``sequence`` for ``frame`` (per-frame, then shared)."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(groups)
        if seq and 0 <= index < len(seq):
            macro = seq[index].get(sequence)
            if macro:
                return macro[0]
    return None


def frame_value(ds: "Dataset", frame: int, sequence: str, keyword: str, default: Any = None) -> Any:
    """``keyword`` from the functional group ``sequence`` of ``frame``, else the top level."""
    item = frame_item(ds, frame, sequence)
    if item is not None and item.get(keyword) not in (None, ""):
        return item.get(keyword)
    value = ds.get(keyword)
    return default if value in (None, "") else value


def _floats(value: Any, n: int) -> Optional[tuple[float, ...]]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n else None


def _int_or_none(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def slice_refs_from_dataset(
    ds: "Dataset",
    path: Union[str, Path],
    pixel_offset: Optional[int] = None,
    frames: Optional[Sequence[int]] = None,
) -> list[SliceRef]:
    """One SliceRef per frame of ``ds`` (or of ``frames``); ``pixel_offset``: PixelData offset."""
    from app.dicom.codecs import number_of_frames

    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else None
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    bits = _int_or_none(ds.get("BitsAllocated"))
    spp = int(ds.get("SamplesPerPixel") or 1)
    frame_bytes = rows * cols * spp * (bits or 0) // 8
    if "ModalityLUTSequence" in ds or bits not in (8, 16, 32):
        pixel_offset = None  # raw path handles rescale only
    refs = []
    for frame in range(number_of_frames(ds)) if frames is None else frames:
        slope = frame_value(ds, frame, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = frame_value(ds, frame, "PixelValueTransformationSequence", "RescaleIntercept")
        spacing = frame_value(ds, frame, "PixelMeasuresSequence", "PixelSpacing")
        refs.append(
            SliceRef(
                path=str(path),
                frame=frame,
                ipp=_floats(frame_value(ds, frame, "PlanePositionSequence", "ImagePositionPatient"), 3),
                iop=_floats(frame_value(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient"), 6),
                pixel_spacing=_floats(spacing, 2),
                rows=rows,
                cols=cols,
                instance_number=_int_or_none(ds.get("InstanceNumber")),
                pixel_offset=None if pixel_offset is None else pixel_offset + frame * frame_bytes,
                transfer_syntax=ts,
                bits_allocated=bits,
                bits_stored=_int_or_none(ds.get("BitsStored")),
                pixel_representation=_int_or_none(ds.get("PixelRepresentation")),
                samples_per_pixel=spp,
                rescale_slope=1.0 if slope is None else _float_or_none(slope),
                rescale_intercept=0.0 if intercept is None else _float_or_none(intercept),
            )
        )
    return refs


def read_slice_refs(path: Union[str, Path]) -> list[SliceRef]:
    """Parse one file's header (pixel data deferred) into SliceRefs with the raw offset."""
    from app.dicom.codecs import read_dataset

    ds = read_dataset(path, defer_size=DEFER_SIZE)
    return slice_refs_from_dataset(ds, path, deferred_pixel_offset(ds))


def deferred_pixel_offset(ds: "Dataset") -> Optional[int]:
    """File offset of a deferred, defined-length native PixelData value (else None)."""
    meta = getattr(ds, "file_meta", None)
    if meta is None or str(meta.get("TransferSyntaxUID", "")) not in syntaxes.native_little_endian():
        return None
    raw = ds._dict.get(0x7FE00010)  # RawDataElement while deferred: keeps value_tell
    tell = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None)
    if tell is None or length in (None, 0xFFFFFFFF):
        return None
    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    bits, spp = int(ds.get("BitsAllocated") or 0), int(ds.get("SamplesPerPixel") or 1)
    from app.dicom.codecs import number_of_frames

    if length < rows * cols * spp * bits // 8 * number_of_frames(ds):
        return None  # truncated: let the decoder report it
    return int(tell)


def pixel_data_offset(path: Union[str, Path]) -> Optional[int]:
    """File offset of the uncompressed pixel bytes of ``path`` (frame 0), None if not raw."""
    refs = read_slice_refs(path)
    return refs[0].pixel_offset if refs else None


def _known_raw(ref: SliceRef) -> bool:
    return ref.raw_readable and ref.rescale_slope is not None and ref.rescale_intercept is not None


def _resolve(ref: SliceRef, cache: dict) -> tuple[SliceRef, Optional["Dataset"]]:
    """``ref`` with its header fields filled in (one deferred parse), and the dataset if parsed."""
    from app.dicom.codecs import read_dataset

    if _known_raw(ref):
        return ref, None
    ds = cache.get(ref.path)
    if ds is None:
        cache.clear()  # keep at most one parsed file (multi-frame objects)
        ds = cache[ref.path] = read_dataset(ref.path, defer_size=DEFER_SIZE)
    full = slice_refs_from_dataset(ds, ref.path, deferred_pixel_offset(ds), frames=[ref.frame])[0]
    return full, ds


def slice_stored(ref: SliceRef, cache: Optional[dict] = None) -> tuple[np.ndarray, Any]:
    """Stored values of one slice and how to map them: (slope, intercept) or DisplayParams."""
    from app.dicom.codecs import DecodeError, decode_frame, raw_dtype, read_raw_frame
    from app.dicom.pixels import display_params

    full, ds = _resolve(ref, {} if cache is None else cache)
    if ds is None or _known_raw(full):
        buf = np.empty((full.rows, full.cols), raw_dtype(full))
        read_raw_frame(full, buf)
        return buf, (full.rescale_slope, full.rescale_intercept)
    stored = decode_frame(ds, ref.frame)
    if stored.ndim != 2 or stored.shape != (ref.rows, ref.cols):
        raise DecodeError(f"frame shape {stored.shape} does not fit a ({ref.rows}, {ref.cols}) volume")
    params = display_params(ds, ref.frame)
    return stored, (params if params.modality_lut is not None else (params.slope, params.intercept))


def slice_values(ref: SliceRef, cache: Optional[dict] = None) -> np.ndarray:
    """Modality values of one slice (raw read when possible, else decode + modality LUT)."""
    from app.dicom.pixels import modality_values, rescale

    stored, spec = slice_stored(ref, cache)
    return rescale(stored, *spec) if isinstance(spec, tuple) else modality_values(stored, spec)


def load_slice(ref: SliceRef, out: np.ndarray, cache: Optional[dict] = None) -> bool:
    """Write one slice's modality values into ``out``; False if they do not fit its dtype."""
    from app.dicom.codecs import raw_dtype, read_raw_frame
    from app.dicom.pixels import fits_int16, into_int16, modality_values, rescale

    cache = {} if cache is None else cache
    full, _ds = _resolve(ref, cache)
    fast = out.dtype == np.int16 and _known_raw(full) and full.bits_allocated == 16
    if fast and out.shape == (full.rows, full.cols):
        view = out.view(raw_dtype(full))  # read the file bytes straight into the volume
        read_raw_frame(full, view)
        return bool(into_int16(view, full.rescale_slope, full.rescale_intercept, out))
    stored, spec = slice_stored(full if _known_raw(full) else ref, cache)
    if out.dtype == np.int16 and isinstance(spec, tuple):
        done = into_int16(stored, *spec, out)
        if done is not None:
            return done
    values = rescale(stored, *spec) if isinstance(spec, tuple) else modality_values(stored, spec)
    if out.dtype == np.int16 and not fits_int16(values):
        return False
    out[...] = values
    return True
