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
DEFER_SIZE = 64 * 1024  # longer values (Pixel Data) are not copied out of the received bytes to parse them
_KEPT_META = ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle")


class Rejected(Exception):
    """The bytes cannot be stored; ``skip`` marks input that is not an instance at all."""

    def __init__(self, reason: str, *, skip: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.skip = skip


@dataclass(frozen=True)
class Prepared:
    """A validated instance ready to be written (or already written to a temp file: ``staged``)."""

    header: InstanceHeader  # pixel_offset refers to ``content``
    content: bytes  # empty when ``staged`` holds it
    sha256: str  # of the dataset bytes after the File Meta (what identifies the content)
    staged: str | None = None  # temp file under the cache's tmp/ holding the content (app.store.staging)
    staged_size: int = 0

    @property
    def size(self) -> int:
        """Length of the canonical file."""
        return self.staged_size if self.staged else len(self.content)


@dataclass(frozen=True)
class Parts:
    """A validated instance as the two pieces of its canonical file (nothing copied yet)."""

    header: InstanceHeader
    prefix: bytes  # preamble + File Meta
    body: memoryview  # the dataset bytes as received
    sha256: str


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


def _parse(data: bytes, defer_size: int | None = DEFER_SIZE) -> ParsedFile:
    try:
        return parse_bytes(data, defer_size=defer_size)
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
    parts = prepare_parts(data)
    return Prepared(parts.header, b"".join((parts.prefix, parts.body)), parts.sha256)


def prepare_parts(data: bytes) -> Parts:
    """:func:`prepare` without joining the canonical file's pieces (a writer can write them as they are)."""
    try:
        with quiet_value_warnings():
            return _prepare(data)
    except Rejected:
        raise
    except Exception as exc:  # a malformed object must never take the caller down
        raise Rejected(f"cannot validate object: {type(exc).__name__}: {exc}") from exc


def _verify_rewrite(content: bytes, header: InstanceHeader, parsed: ParsedFile, offset: int | None) -> None:
    """Re-read a rewritten file: same instance, same Pixel Data position and length."""
    again = _parse(content, None)
    same = (
        str(again.dataset.get("SOPInstanceUID", "")) == header.sop_instance_uid
        and again.pixel_offset == offset
        and again.pixel_length == parsed.pixel_length
    )
    if not same:
        raise Rejected("File Meta could not be rewritten consistently")


def _parse_once(data: bytes) -> ParsedFile:
    """Parse with long values left in ``data``; again in full when Pixel Data runs past the end (so the
    pixel size check sees the bytes actually present)."""
    parsed = _parse(data)
    offset, length = parsed.pixel_offset, parsed.pixel_length
    if offset is not None and length is not None and offset + length > len(data):
        return _parse(data, None)
    return parsed


def _prepare(data: bytes) -> Parts:
    parsed = _parse_once(data)
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
    if not (keep_meta and parsed.has_preamble):  # only the preamble changed otherwise
        _verify_rewrite(b"".join((prefix, body)), header, parsed, offset)
    header = replace(
        header,
        pixel_offset=offset,
        pixel_length=parsed.pixel_length,
        encapsulated=offset is not None and parsed.pixel_length is None,
    )
    return Parts(header, prefix, body, hashlib.sha256(body).hexdigest())
