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


LOSSY = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81",
                   "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.203"})


def wire_preference(wire: str) -> list[str]:
    """Transfer syntaxes to ask a transcoding PACS for, best first; ``"*"`` = as stored (the fallback).

    ``lossless``: HTJ2K then JPEG-LS lossless (pixel-exact, ~4x smaller for CT); ``lossy``: JPEG-LS
    near-lossless first; ``stored``: only as stored."""
    lossless = ["1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.80"]
    if wire == "stored":
        return ["*"]
    return (["1.2.840.10008.1.2.4.81"] if wire == "lossy" else []) + lossless + ["*"]


def is_lossy(transfer_syntax: str) -> bool:
    """True for a lossy compressed transfer syntax."""
    return transfer_syntax in LOSSY


# lossless encodings a storage SCP prefers to accept, best first (smallest on the wire, fast to decode)
_LOSSLESS_ACCEPT = ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.80",
                    "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.90",
                    "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.1.99")
_UNCOMPRESSED_ACCEPT = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2")


def acceptor_order(supported: list[str], wire: str) -> list[str]:
    """``supported`` reordered for a storage SCP; pynetdicom accepts the first of *its* list the peer proposes.

    ``lossless``/``stored``: lossless compressed first (what the peer holds or transcodes to, never forcing it to
    decompress), then uncompressed, lossy last; ``lossy``: lossy first."""
    lossless = [ts for ts in _LOSSLESS_ACCEPT if ts in supported]
    plain = [ts for ts in _UNCOMPRESSED_ACCEPT if ts in supported]
    lossy = [ts for ts in supported if ts in LOSSY]
    first = (lossy + lossless + plain) if wire == "lossy" else (lossless + plain + lossy)
    return first + [ts for ts in supported if ts not in first]
