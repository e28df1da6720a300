"""Pixel decoding: the fastest installed decoder per transfer syntax, with clean errors.

Uncompressed little-endian frames need no decoder at all: :func:`read_raw_frame` reads
their bytes at a known file offset straight into the caller's array.

pydicom's own decoder framework does the work; on first use :func:`ensure_plugins`
registers imagecodecs as a pydicom plugin and orders each transfer syntax's plugins
fastest first (measured, see docs / stack notes). When a plugin fails on a frame pydicom
tries the next one. Every failure surfaces as :class:`DecodeError` with a reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from app.dicom.header import UnreadableDicomError, check_inflation_stream
from app.dicom.syntaxes import DEFLATED_IMAGE_FRAME
from app.tasks import Cancelled

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from pydicom import Dataset

    from app.dicom.series import SliceRef

Source = Union[str, Path, "Dataset"]

#: Refuse images whose declared decoded size exceeds this (malformed or hostile headers).
MAX_DECODED_BYTES = 4 * 1024**3

_PLUGIN_PATHS: dict[str, tuple[str, str]] = {
    "imagecodecs": ("app.dicom._imagecodecs_plugin", "_decode_frame"),
    "pylibjpeg": ("pydicom.pixels.decoders.pylibjpeg", "_decode_frame"),
    "pyjpegls": ("pydicom.pixels.decoders.pyjpegls", "_decode_frame"),
    "pillow": ("pydicom.pixels.decoders.pillow", "_decode_frame"),
    "gdcm": ("pydicom.pixels.decoders.gdcm", "_decode_frame"),
    "pydicom": ("pydicom.pixels.decoders.rle", "_decode_frame"),
}

# Fastest first, as measured on 512x512 CT (MB/s, 1 process): JPEG lossless imagecodecs 152
# vs pylibjpeg 31; JPEG-LS imagecodecs 92 vs pyjpegls 84 vs pylibjpeg 20; HTJ2K imagecodecs
# 174 vs pylibjpeg 67; RLE pylibjpeg-rle 161 vs pydicom 70; J2K see bench/run.py.
_JPEG = ["imagecodecs", "pylibjpeg", "pillow", "gdcm"]
_JPEGLS = ["imagecodecs", "pyjpegls", "pylibjpeg", "gdcm"]
_J2K = ["imagecodecs", "pylibjpeg", "gdcm", "pillow"]
PLUGIN_ORDER: dict[str, list[str]] = {
    "JPEGBaseline8Bit": _JPEG,
    "JPEGExtended12Bit": _JPEG,
    "JPEGLossless": ["imagecodecs", "pylibjpeg", "gdcm"],
    "JPEGLosslessSV1": ["imagecodecs", "pylibjpeg", "gdcm"],
    "JPEGLSLossless": _JPEGLS,
    "JPEGLSNearLossless": _JPEGLS,
    "JPEG2000Lossless": _J2K,
    "JPEG2000": _J2K,
    "HTJ2KLossless": ["imagecodecs", "pylibjpeg"],
    "HTJ2KLosslessRPCL": ["imagecodecs", "pylibjpeg"],
    "HTJ2K": ["imagecodecs", "pylibjpeg"],
    "RLELossless": ["pylibjpeg", "pydicom"],
}

MAX_REASON = 300
_lock = threading.Lock()
_registered = False


class DecodeError(Exception):
    """Pixel data cannot be decoded; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        reason = " ".join(str(reason).split())  # one line (pydicom joins plugin errors with newlines)
        reason = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."
        super().__init__(reason)
        self.reason = reason


@contextmanager
def image_errors(stage: str) -> Iterator[None]:
    """Turn any failure inside the block into :class:`DecodeError` ("<stage>: <what>").

    Malformed headers make pydicom and numpy raise many types (ValueError, TypeError,
    KeyError, IndexError, struct.error, ...): callers only ever see one, per image.
    """
    try:
        yield
    except (DecodeError, Cancelled, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except MemoryError as exc:
        raise DecodeError(f"{stage}: not enough memory") from exc
    except BaseException as exc:  # noqa: BLE001 - the point: one typed error per image (panics too)
        raise DecodeError(f"{stage}: {type(exc).__name__}: {exc}") from exc


def ensure_plugins() -> None:
    """Register imagecodecs with pydicom and order plugins fastest first (once, thread-safe)."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        import pydicom.pixels.decoders as decoders

        for keyword, order in PLUGIN_ORDER.items():
            decoder = getattr(decoders, f"{keyword}Decoder")
            for label in order:
                try:
                    decoder.remove_plugin(label)  # re-added below in our order
                except ValueError:
                    pass
            for label in order:
                try:
                    decoder.add_plugin(label, _PLUGIN_PATHS[label])
                except (ImportError, ValueError):
                    continue  # plugin module missing or not supporting this syntax
            available = decoder._available  # no public way to wrap a registered plugin
            for label, func in available.items():
                available[label] = _guarded(func)
        _registered = True


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """A plugin whose panics (Rust ``PanicException`` is a BaseException) become RuntimeError.

    pydicom then tries the next plugin, as for any other failure.
    """
    def decode(src: Any, runner: Any) -> Any:
        try:
            return func(src, runner)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except Exception:
            raise
        except BaseException as exc:  # noqa: BLE001 - a native decoder panicked
            raise RuntimeError(f"decoder panicked: {exc}") from exc

    return decode


def plugin_order(transfer_syntax: str) -> tuple[str, ...]:
    """The available plugins pydicom will try for ``transfer_syntax``, in order."""
    ensure_plugins()
    from pydicom.pixels.decoders.base import get_decoder

    return tuple(get_decoder(transfer_syntax)._validate_plugins())  # no public ordered view


def read_dataset(
    src: Source, *, stop_before_pixels: bool = False, defer_size: Optional[int] = None
) -> "Dataset":
    """Read a DICOM file, tolerating a missing preamble / File Meta; raise DecodeError.

    ``defer_size``: values longer than this are read from the file only when accessed.
    """
    from pydicom import Dataset

    from app.crypto import DecryptError, KeyMissingError
    from app.dicom.stored import dcmread_stored

    if isinstance(src, Dataset):
        return src
    try:
        ds = dcmread_stored(src, check=check_inflation_stream, retry_force=True,
                            stop_before_pixels=stop_before_pixels, defer_size=defer_size)
    except KeyMissingError:
        raise  # locked, not damaged: the caller says so (never a quarantine)
    except DecryptError as exc:
        raise DecodeError(str(exc)) from exc
    except (OSError, MemoryError) as exc:
        raise DecodeError(f"cannot read file: {exc}") from exc
    except UnreadableDicomError as exc:
        raise DecodeError(str(exc)) from exc
    except Exception as exc:  # pydicom raises many types on malformed input
        raise DecodeError(f"malformed DICOM file: {type(exc).__name__}: {exc}") from exc
    if len(ds) == 0:
        raise DecodeError("not a DICOM file (no elements could be read)")
    _drop_unreadable(ds)
    _fill_transfer_syntax(ds)
    return ds


def _drop_unreadable(ds: "Dataset") -> None:
    """Convert every top-level value now: an unreadable one (wrong VR, wrong length, bad value) is
    dropped, unless it belongs to the image pixel module group (0028): then the image is refused.
    """
    for tag in list(ds.keys()):
        raw = ds.get_item(tag, keep_deferred=True)
        deferred = getattr(raw, "value", b"") is None and getattr(raw, "length", 0) not in (0, None)
        if tag == 0x7FE00010 or deferred:  # read when used
            continue
        try:
            ds[tag]
        except Exception as exc:  # noqa: BLE001 - pydicom raises many types on bad values
            if tag.group == 0x0028:
                raise DecodeError(f"unreadable image attribute {tag}: {type(exc).__name__}: {exc}") from exc
            del ds[tag]


def _fill_transfer_syntax(ds: "Dataset") -> None:
    """Give files without File Meta the transfer syntax they were actually read with."""
    from pydicom import uid
    from pydicom.dataset import FileMetaDataset

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = ds.original_encoding
    if implicit is None:
        return
    if implicit:
        ts = uid.ImplicitVRLittleEndian
    else:
        ts = uid.ExplicitVRLittleEndian if little else uid.ExplicitVRBigEndian
    if meta is None:
        ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts


def number_of_frames(ds: "Dataset") -> int:
    """(0028,0008) Number of Frames, 1 when absent or empty; DecodeError when invalid."""
    try:
        value = ds.get("NumberOfFrames")
    except Exception as exc:  # noqa: BLE001 - invalid IS string raised on conversion
        raise DecodeError(f"invalid Number of Frames: {exc}") from exc
    try:
        return max(int(value or 1), 1)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"invalid Number of Frames {value!r}") from exc


def _check_decodable(ds: "Dataset") -> str:
    """Return the transfer syntax UID, or raise DecodeError with the reason it cannot decode."""
    from pydicom.pixels.decoders.base import get_decoder

    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        modality = ds.get("Modality", "?")
        raise DecodeError(f"no pixel data (not an image: modality {modality}, SOP class {ds.get('SOPClassUID', '?')})")
    missing = [k for k in ("Rows", "Columns", "BitsAllocated") if ds.get(k) in (None, "")]
    if missing:
        raise DecodeError(f"image pixel module incomplete, missing {', '.join(missing)}")
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if not ts:
        raise DecodeError("transfer syntax unknown (no File Meta Information)")
    try:
        if ts != DEFLATED_IMAGE_FRAME:  # decoded by app.dicom.deflated_frames
            get_decoder(ts)
    except NotImplementedError as exc:
        raise DecodeError(f"unsupported transfer syntax {ts} ({ts.name})") from exc
    with image_errors("invalid image pixel module"):
        spp = int(ds.get("SamplesPerPixel") or 1)
        size = int(ds.Rows) * int(ds.Columns) * spp * max(int(ds.BitsAllocated), 8) // 8
    if size * number_of_frames(ds) > MAX_DECODED_BYTES:
        raise DecodeError(f"declared image size {size * number_of_frames(ds)} bytes is too large")
    from app.dicom.validate import check_pixel_sizes

    with image_errors("invalid pixel data"):
        reason = check_pixel_sizes(ds, str(ts))
    if reason:
        raise DecodeError(f"pixel data: {reason}")
    return str(ts)


def _as_array(ds: "Dataset", index: int | None, as_rgb: bool) -> "np.ndarray":
    ensure_plugins()
    from pydicom.pixels.decoders.base import get_decoder

    ts = _check_decodable(ds)
    if index is not None and not 0 <= index < number_of_frames(ds):
        raise DecodeError(f"frame {index} out of range (0..{number_of_frames(ds) - 1})")
    with image_errors("cannot decode pixel data"):
        if ts == DEFLATED_IMAGE_FRAME:
            from app.dicom import deflated_frames

            arr = deflated_frames.decode(ds, index, number_of_frames(ds), as_rgb)
        else:
            arr, _meta = get_decoder(ts).as_array(ds, index=index, as_rgb=as_rgb)
    if not arr.dtype.isnative:  # big endian syntax: hand out native byte order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def decode_frame(src: Source, frame: int = 0, *, as_rgb: bool = True) -> "np.ndarray":
    """Stored values of one frame: (rows, cols) or (rows, cols, samples).

    Same values as pydicom's ``pixel_array`` (sign-corrected, YBR converted to RGB unless
    ``as_rgb`` is False) in native byte order, from the fastest decoder; DecodeError on failure.
    """
    return _as_array(read_dataset(src), frame, as_rgb)


def decode_all(src: Source, *, as_rgb: bool = True) -> "np.ndarray":
    """Stored values of every frame: (frames, rows, cols[, samples]) when frames > 1."""
    return _as_array(read_dataset(src), None, as_rgb)


def raw_dtype(ref: "SliceRef") -> str:
    """numpy dtype string of ``ref``'s stored values as they sit in the file."""
    return f"<{'i' if ref.pixel_representation == 1 else 'u'}{(ref.bits_allocated or 16) // 8}"


def read_raw_frame(ref: "SliceRef", out: "np.ndarray") -> None:
    """Read ``ref``'s raw stored values into C-contiguous array ``out`` (no header parsing).

    Signed values with Bits Stored < Bits Allocated are sign-extended, as pydicom does.
    """
    from app.crypto import DecryptError
    from app.crypto.ranges import read_into

    try:  # plaintext: one readinto; encrypted at rest: only the chunks holding the frame, decrypted into ``out``
        got = read_into(ref.path, int(ref.pixel_offset or 0), memoryview(out).cast("B"))
    except (OSError, DecryptError) as exc:
        raise DecodeError(f"cannot read pixel bytes: {exc}") from exc
    if got != out.nbytes:
        raise DecodeError(f"pixel data truncated ({got} of {out.nbytes} bytes)")
    bits = out.dtype.itemsize * 8
    stored = ref.bits_stored or bits
    if out.dtype.kind == "i" and stored < bits:
        out <<= bits - stored
        out >>= bits - stored
