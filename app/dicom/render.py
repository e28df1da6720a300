"""Render one DICOM frame to PNG with its default (or a given) window."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from app.dicom.codecs import DecodeError, decode_frame, image_errors, number_of_frames, read_dataset
from app.dicom.overlays import burn_overlays, read_overlays
from app.dicom.pixels import Window, to_display

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset


def render_array(
    src: Union[Path, str, "Dataset"],
    frame: Optional[int] = None,
    window: Optional[Window] = None,
    *,
    overlays: bool = False,
) -> np.ndarray:
    """Display image (uint8 (H, W) or (H, W, 3)) of ``frame`` (default: the middle frame)."""
    ds = read_dataset(src)
    with image_errors("cannot display image"):
        return _render(ds, frame, window, overlays)


def _render(ds: "Dataset", frame: Optional[int], window: Optional[Window], overlays: bool) -> np.ndarray:
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        kind = ds.get("Modality") or ds.get("SOPClassUID", "unknown")
        raise DecodeError(f"not an image object ({kind}): nothing to render")
    frames = number_of_frames(ds)
    index = frames // 2 if frame is None else frame
    if not 0 <= index < frames:
        raise DecodeError(f"frame {index} out of range (0..{frames - 1})")
    image = to_display(ds, decode_frame(ds, index), index, window=window)
    if overlays:
        image = burn_overlays(image, read_overlays(ds, index))
    return image


def render_png(
    src: Union[Path, str, "Dataset"],
    out: Path,
    frame: Optional[int] = None,
    window: Optional[Window] = None,
    *,
    overlays: bool = False,
) -> None:
    """Write one frame as PNG (8-bit grey or RGB; encrypted inside an unlocked encrypted data folder, as the
    report's key images are); raise DecodeError for non-images."""
    import io

    from PIL import Image

    from app.crypto import seal_for

    image = render_array(src, frame, window, overlays=overlays)
    with image_errors("cannot write PNG"):
        buf = io.BytesIO()
        Image.fromarray(image, mode="RGB" if image.ndim == 3 else "L").save(buf, format="PNG")
        Path(out).write_bytes(seal_for(out, buf.getbuffer()))
