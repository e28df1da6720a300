"""The transfer syntaxes we propose, as pydicom constants (imported on first use: pydicom takes ~0.3 s)."""

from __future__ import annotations


def uncompressed() -> list[str]:
    """Explicit, then Implicit VR Little Endian: every peer takes one of them."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    return [ExplicitVRLittleEndian, ImplicitVRLittleEndian]


def compressed() -> list[str]:
    """Encodings a peer may hold its instances in, each proposed alone so it can send them as stored."""
    from pydicom.uid import (HTJ2KLossless, JPEG2000Lossless, JPEGBaseline8Bit, JPEGLosslessSV1, JPEGLSLossless,
                             RLELossless)

    return [JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless, RLELossless, HTJ2KLossless, JPEGBaseline8Bit]
