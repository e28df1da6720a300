"""Transfer syntaxes the decoding code names, as pydicom's constants (imported on first use: ~0.3 s)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def deflated() -> str:
    """Deflated Explicit VR Little Endian (the data set is zlib-compressed)."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    return DeflatedExplicitVRLittleEndian


@lru_cache(maxsize=1)
def native_little_endian() -> frozenset[str]:
    """Implicit and Explicit VR Little Endian: pixel bytes can be read straight from the file."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    return frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian})


def for_encoding(implicit_vr: bool, little_endian: bool) -> str | None:
    """The transfer syntax of a data set without File Meta, from its encoding (None: implicit big endian)."""
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    return {(True, True): ImplicitVRLittleEndian, (False, True): ExplicitVRLittleEndian,
            (False, False): ExplicitVRBigEndian}.get((implicit_vr, little_endian))


@lru_cache(maxsize=1)
def lossless() -> frozenset[str]:
    """Transfer syntaxes that keep every pixel value (native, deflated, RLE, the lossless JPEG family)."""
    from pydicom import uid

    return frozenset({uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.ExplicitVRBigEndian,
                      uid.DeflatedExplicitVRLittleEndian, uid.RLELossless, uid.JPEGLossless, uid.JPEGLosslessSV1,
                      uid.JPEGLSLossless, uid.JPEG2000Lossless, uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL,
                      DEFLATED_IMAGE_FRAME})


#: Deflated Image Frame Compression: each frame's pixel bytes raw-deflated in one encapsulated frame.
DEFLATED_IMAGE_FRAME = "1.2.840.10008.1.2.8.1"
