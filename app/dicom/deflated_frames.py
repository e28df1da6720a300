"""Decoding of Deflated Image Frame Compression (1.2.840.10008.1.2.8.1), unknown to pydicom 3.0.

Each frame is the native (Explicit VR Little Endian) pixel bytes of one frame, raw-deflated
(RFC 1951) into an encapsulated frame. Each frame is inflated with a cap
(:func:`app.dicom.deflate.inflate_frame`) and handed to pydicom's native decoder as a one-frame
data set, so sign correction, bit unpacking and colour handling are pydicom's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.dicom.deflate import InflationError, inflate_frame

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from pydicom import Dataset


def frame_bytes(ds: "Dataset") -> int:
    """Native size of one frame (bits packed and padded to a byte per frame for Bits Allocated 1)."""
    spp = int(ds.get("SamplesPerPixel") or 1)
    return (int(ds.Rows) * int(ds.Columns) * spp * int(ds.BitsAllocated) + 7) // 8


def _native_frame(ds: "Dataset", pixels: bytes) -> "Dataset":
    """A one-frame native data set with ``ds``'s image pixel module and ``pixels``."""
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    native = Dataset()
    for elem in ds.group_dataset(0x0028):
        if elem.keyword not in ("NumberOfFrames", "ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
            native.add(elem)
    native.file_meta = FileMetaDataset()
    native.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    native.add_new(0x7FE00010, "OB" if int(ds.BitsAllocated) <= 8 else "OW", pixels)
    return native


def decode(ds: "Dataset", index: int | None, frames: int, as_rgb: bool) -> "np.ndarray":
    """Frame ``index`` (or all frames, stacked when ``frames`` > 1) as pydicom's ``pixel_array`` would.

    Raises InflationError for a corrupt frame or one that does not inflate to the declared size.
    """
    import numpy as np
    from pydicom.encaps import generate_frames, get_frame

    expected = frame_bytes(ds)
    if index is not None:
        encoded = [get_frame(ds.PixelData, index, number_of_frames=frames)]
    else:
        encoded = list(generate_frames(ds.PixelData, number_of_frames=frames))
        if len(encoded) != frames:
            raise InflationError(f"{len(encoded)} encoded frames for {frames} declared")
    out = [_decode_native(_native_frame(ds, inflate_frame(data, expected)), as_rgb) for data in encoded]
    return out[0] if index is not None or frames == 1 else np.stack(out)


def _decode_native(native: "Dataset", as_rgb: bool) -> "np.ndarray":
    from pydicom.pixels.decoders.base import get_decoder

    arr, _meta = get_decoder(native.file_meta.TransferSyntaxUID).as_array(native, index=None, as_rgb=as_rgb)
    return arr
