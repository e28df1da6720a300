"""Turn received bytes into what the store writes: validated header + canonical file bytes.

Canonical form: a zeroed 128-byte preamble (no executable polyglots), ``DICM``, a File
Meta group (the original one when it is complete and consistent, else a rebuilt one
keeping the original transfer syntax), then the dataset bytes exactly as received.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from app.dicom.header import (
    MEDIA_STORAGE_DIRECTORY,
    InstanceHeader,
    NotDicomError,
    ParsedFile,
    UnreadableDicomError,
    extract_header,
    parse_bytes,
    quiet_value_warnings,
)
from app.dicom.uids import uid_problem
from app.dicom.validate import check_pixel_sizes

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

PREAMBLE = b"\x00" * 128 + b"DICM"
_KEPT_META = ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle")


class Rejected(Exception):
    """The bytes cannot be stored; ``skip`` marks input that is not an instance at all."""

    def __init__(self, reason: str, *, skip: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.skip = skip


@dataclass(frozen=True)
class Prepared:
    """A validated instance ready to be written."""

    header: InstanceHeader  # pixel_offset refers to ``content``
    content: bytes
    sha256: str  # of the dataset bytes after the File Meta (what identifies the content)


def _meta_usable(parsed: ParsedFile, header: InstanceHeader) -> bool:
    meta = parsed.dataset.file_meta
    group_length = meta.get("FileMetaInformationGroupLength")
    return (
        parsed.body_offset > parsed.meta_start
        and bool(meta.get("TransferSyntaxUID"))
        and group_length is not None
        and parsed.meta_start + 12 + int(group_length) == parsed.body_offset
        and meta.get("MediaStorageSOPInstanceUID") == header.sop_instance_uid
        and meta.get("MediaStorageSOPClassUID") == header.sop_class_uid
    )


def _build_meta(ds: Dataset, header: InstanceHeader) -> bytes:
    from app.dicom.part10 import encode_file_meta, file_meta

    meta = file_meta(header.sop_class_uid, header.sop_instance_uid, header.transfer_syntax_uid)
    old = getattr(ds, "file_meta", None) or {}
    for keyword in _KEPT_META:
        value = old.get(keyword) if hasattr(old, "get") else None
        if value and str(value).isascii():
            setattr(meta, keyword, str(value)[:16])
    return encode_file_meta(meta)


def _parse(data: bytes) -> ParsedFile:
    try:
        return parse_bytes(data)
    except NotDicomError as exc:
        raise Rejected(f"not DICOM ({exc})", skip=True) from exc
    except UnreadableDicomError as exc:
        raise Rejected(str(exc)) from exc


def _check_uids(header: InstanceHeader) -> None:
    for label, value in (
        ("SOP Instance UID", header.sop_instance_uid),
        ("SOP Class UID", header.sop_class_uid),
        ("Study Instance UID", header.study_instance_uid),
        ("Series Instance UID", header.series_instance_uid),
        ("Transfer Syntax UID", header.transfer_syntax_uid),
    ):
        problem = uid_problem(value, strict=False)
        if problem:
            raise Rejected(f"invalid {label}: {problem}")


def prepare(data: bytes) -> Prepared:
    """Parse, validate and canonicalise; raise :class:`Rejected` with a reason."""
    try:
        with quiet_value_warnings():
            return _prepare(data)
    except Rejected:
        raise
    except Exception as exc:  # a malformed object must never take the caller down
        raise Rejected(f"cannot validate object: {type(exc).__name__}: {exc}") from exc


def _verify_rewrite(content: bytes, header: InstanceHeader, parsed: ParsedFile, offset: int | None) -> None:
    """Re-read a rewritten file: same instance, same Pixel Data position and length."""
    again = _parse(content)
    same = (
        str(again.dataset.get("SOPInstanceUID", "")) == header.sop_instance_uid
        and again.pixel_offset == offset
        and again.pixel_length == parsed.pixel_length
    )
    if not same:
        raise Rejected("File Meta could not be rewritten consistently")


def _prepare(data: bytes) -> Prepared:
    parsed = _parse(data)
    ds = parsed.dataset
    media_class = str(getattr(ds, "file_meta", {}).get("MediaStorageSOPClassUID", "") or "")
    header = extract_header(ds, parsed.transfer_syntax)
    if MEDIA_STORAGE_DIRECTORY in (media_class, header.sop_class_uid):
        raise Rejected("media storage directory (DICOMDIR), not an instance", skip=True)
    _check_uids(header)
    reason = check_pixel_sizes(ds, parsed.transfer_syntax)
    if reason:
        raise Rejected(f"pixel data: {reason}")
    keep_meta = _meta_usable(parsed, header)
    if keep_meta:
        prefix = PREAMBLE + data[parsed.meta_start : parsed.body_offset]
    else:
        prefix = PREAMBLE + _build_meta(ds, header)
    body = memoryview(data)[parsed.body_offset :]
    offset = parsed.pixel_offset
    if offset is not None:
        offset += len(prefix) - parsed.body_offset
    content = prefix + bytes(body)
    if not (keep_meta and parsed.has_preamble):  # only the preamble changed otherwise
        _verify_rewrite(content, header, parsed, offset)
    header = replace(
        header,
        pixel_offset=offset,
        pixel_length=parsed.pixel_length,
        encapsulated=offset is not None and parsed.pixel_length is None,
    )
    return Prepared(header, content, hashlib.sha256(body).hexdigest())
