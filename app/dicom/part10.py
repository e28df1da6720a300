"""The one Part-10 writer: File Meta (our implementation class UID and version name) and file bytes.

Every DICOM file the workstation writes goes through here: files stored in the cache
(:func:`encode_file_meta`), bytes received over the network (:func:`part10_bytes`, hand-encoded: the
data set is never decoded) and objects we create (:func:`dataset_bytes`: SR, encapsulated PDF).
"""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING

from app import __version__

if TYPE_CHECKING:
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset

IMPLEMENTATION_CLASS_UID = "2.25.303511304992841284296555303426184950549"  # telerad (UUID-derived)
IMPLEMENTATION_VERSION_NAME = ("TELERAD_" + __version__.replace(".", ""))[:16]  # SH, at most 16 chars
PREAMBLE = b"\0" * 128 + b"DICM"


def encode_uid(value: str) -> bytes:
    """A UI value as bytes: ASCII, padded with one NUL to even length."""
    raw = value.encode("ascii")
    return raw + b"\0" if len(raw) % 2 else raw


def encode_text(value: str) -> bytes:
    """A short ASCII text value (AE, SH, CS), padded with one space to even length."""
    raw = value.encode("ascii")
    return raw + b" " if len(raw) % 2 else raw


def file_meta(sop_class_uid: str, sop_instance_uid: str, transfer_syntax_uid: str,
              source_aet: str = "") -> "FileMetaDataset":
    """File Meta Information for one instance, stamped with our implementation UID and version name."""
    from pydicom.dataset import FileMetaDataset

    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = sop_class_uid
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = transfer_syntax_uid
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    if source_aet:
        meta.SourceApplicationEntityTitle = source_aet[:16]
    return meta


def encode_file_meta(meta: "FileMetaDataset") -> bytes:
    """The File Meta group as bytes (group length included, Explicit VR Little Endian)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_file_meta_info

    buffer = DicomBytesIO()
    write_file_meta_info(buffer, meta, enforce_standard=True)
    return buffer.getvalue()


def _meta_element(elem: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH", 2, elem) + vr + b"\0\0" + struct.pack("<L", len(value)) + value
    return struct.pack("<HH", 2, elem) + vr + struct.pack("<H", len(value)) + value


def part10_bytes(dataset: bytes | memoryview, sop_class_uid: str, sop_instance_uid: str,
                 transfer_syntax_uid: str, source_aet: str = "") -> bytes:
    """A whole file: preamble, hand-encoded File Meta and the data set bytes as received (no decoding)."""
    body = b"".join((
        _meta_element(0x0001, b"OB", b"\x00\x01"),
        _meta_element(0x0002, b"UI", encode_uid(sop_class_uid)),
        _meta_element(0x0003, b"UI", encode_uid(sop_instance_uid)),
        _meta_element(0x0010, b"UI", encode_uid(transfer_syntax_uid)),
        _meta_element(0x0012, b"UI", encode_uid(IMPLEMENTATION_CLASS_UID)),
        _meta_element(0x0013, b"SH", encode_text(IMPLEMENTATION_VERSION_NAME)),
        _meta_element(0x0016, b"AE", encode_text(source_aet[:16] or "UNKNOWN")),
    ))
    group_length = _meta_element(0x0000, b"UL", struct.pack("<L", len(body)))
    return b"".join((PREAMBLE, group_length, body, dataset))


def dataset_bytes(ds: "Dataset") -> bytes:
    """A data set we created (SR, encapsulated PDF) as a Part-10 file with our File Meta."""
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if not ts:
        from pydicom.uid import ExplicitVRLittleEndian

        ts = ExplicitVRLittleEndian
    ds.file_meta = file_meta(str(ds.SOPClassUID), str(ds.SOPInstanceUID), ts)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
