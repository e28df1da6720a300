"""Is a second copy of a stored instance the same image, encoded again?

A PACS may send an instance uncompressed once and JPEG-LS lossless the next time (our retrieves ask for
lossless compression over a home line). Same SOP Instance UID, different bytes, same decoded pixels: a
duplicate, not a content conflict. Lossy copies and anything that fails to decode stay conflicts."""

from __future__ import annotations

import io
from pathlib import Path

from app.crypto import KeyMissingError
from app.store.prepare import Prepared

_IDENTITY = ("SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "Rows", "Columns", "NumberOfFrames")


def same_instance_other_syntax(stored: Path, stored_syntax: str, incoming: Prepared) -> bool:
    """True when ``incoming`` differs from the file at ``stored`` only in its lossless encoding (another
    transfer syntax, or the same lossless codec run again: a transcoding PACS need not give the same bytes)."""
    if not stored_syntax:
        return False
    try:
        from pydicom import dcmread

        from app.dicom.codecs import decode_all, read_dataset
        from app.dicom.syntaxes import lossless

        if not {stored_syntax, incoming.header.transfer_syntax_uid} <= lossless():
            return False
        old, new = read_dataset(stored), dcmread(io.BytesIO(incoming.content))
        if any(str(old.get(k, "")) != str(new.get(k, "")) for k in _IDENTITY):
            return False
        return bool((decode_all(old, as_rgb=False) == decode_all(new, as_rgb=False)).all())
    except KeyMissingError:
        raise  # the stored copy is encrypted and its folder locked: not a reason to quarantine the other
    except Exception:  # undecodable either side: keep the stored copy, quarantine the other
        return False
