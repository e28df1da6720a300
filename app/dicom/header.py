"""Fast header parsing: the attributes the study cache indexes, plus where Pixel Data lives.

:func:`parse_bytes` parses a whole file held in memory (what the store does);
:func:`read_header` reads a file on disk with the Pixel Data value deferred.
Files without a preamble/``DICM`` prefix are read with ``force`` only when they
start like a dataset and turn out to carry a SOP Class and SOP Instance UID.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from app.dicom import syntaxes
from app.dicom.header_values import Geometry, extract_geometry, extract_request_fields, number_value, text_value

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

PIXEL_DATA_TAG = 0x7FE00010
UNDEFINED_LENGTH = 0xFFFFFFFF
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
# First two bytes of a dataset without preamble: group 0002 or 0008, either byte order.
_DATASET_STARTS = (b"\x02\x00", b"\x08\x00", b"\x00\x08", b"\x00\x02")
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


class NotDicomError(ValueError):
    """The bytes are not a DICOM dataset (skip, do not report as an error)."""


class UnreadableDicomError(ValueError):
    """The bytes look like DICOM but cannot be parsed."""


@dataclass(frozen=True)
class InstanceHeader:
    """Index attributes of one instance (strings decoded with the Specific Character Set)."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str
    patient_name: str = ""
    patient_id: str = ""
    issuer_of_patient_id: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    accession_number: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    study_id: str = ""
    referring_physician: str = ""
    institution: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    instance_number: int | None = None
    geometry: Geometry = Geometry()
    pixel_offset: int | None = None
    pixel_length: int | None = None
    encapsulated: bool = False
    requested_procedure_priority: str = ""  # (0040,1003), also from the Request Attributes Sequence
    study_priority_id: str = ""  # (0032,000C)
    patient_age: str = ""  # (0010,1010), AS as found
    requesting_service: str = ""  # (0032,1033), also from the Request Attributes Sequence


@dataclass(frozen=True)
class ParsedFile:
    """A parsed file plus the byte layout the store needs to rewrite its prefix."""

    dataset: Dataset
    has_preamble: bool
    meta_start: int  # where File Meta (group 0002) begins; == body_offset if absent
    body_offset: int  # first byte of the dataset proper
    transfer_syntax: str
    pixel_offset: int | None  # absolute offset of the Pixel Data value (None: absent/deflated)
    pixel_length: int | None  # value length; None if undefined (encapsulated) or absent


_quiet_lock = threading.RLock()


@contextmanager
def quiet_value_warnings() -> Iterator[None]:
    """Silence pydicom's value-validation warnings while reading: they quote values (PHI).

    Holds a re-entrant lock, so header parsing is serialised (it holds the GIL anyway).
    """
    from pydicom import config

    with _quiet_lock:
        saved = config.settings.reading_validation_mode
        config.settings.reading_validation_mode = config.IGNORE
        try:
            yield
        finally:
            config.settings.reading_validation_mode = saved


def _meta_elements(data: bytes, pos: int) -> Iterator[tuple[int, int, int, int]]:
    """(element, value start, value end, next position) of the explicit-VR LE group 0002 at ``pos``."""
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            return
        vr = data[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                return
            start = pos + 12
            end = start + struct.unpack_from("<I", data, pos + 8)[0]
        else:
            start = pos + 8
            end = start + struct.unpack_from("<H", data, pos + 6)[0]
        yield elem, start, end, end
        pos = end


def _meta_end(data: bytes, pos: int) -> int:
    """Skip explicit-VR little-endian group 0002 elements starting at ``pos``."""
    for _elem, _start, _end, after in _meta_elements(data, pos):
        pos = after
    return min(pos, len(data))


def _meta_transfer_syntax(data: bytes, pos: int) -> str:
    """The raw (0002,0010) Transfer Syntax UID of the File Meta at ``pos`` ("" if absent)."""
    for elem, start, end, _after in _meta_elements(data, pos):
        if elem == 0x0010:
            return bytes(data[start:end]).rstrip(b"\0 ").decode("ascii", "replace")
    return ""


def _check_inflation(data: bytes, meta_start: int, body_offset: int) -> None:
    """Refuse a deflated data set that would inflate past its cap (before pydicom inflates it)."""
    if body_offset > meta_start and _meta_transfer_syntax(data, meta_start) == syntaxes.deflated():
        from app.dicom.deflate import InflationError, check_deflated

        try:
            check_deflated(memoryview(data)[body_offset:])
        except InflationError as exc:
            raise UnreadableDicomError(str(exc)) from exc


def _transfer_syntax(ds: Dataset) -> str:
    ts = ds.file_meta.get("TransferSyntaxUID") if getattr(ds, "file_meta", None) else None
    if ts:
        return str(ts)
    implicit, little = tuple(ds.original_encoding) if ds.original_encoding else (True, True)
    found = syntaxes.for_encoding(bool(implicit), bool(little))
    if found is None:
        raise UnreadableDicomError("implicit VR big endian is not a valid encoding")
    return found


def check_inflation_file(path: str | Path) -> None:
    """:func:`_check_inflation` for a stored file, encrypted or not (read whole only when it is deflated)."""
    from app.crypto import open_stored

    with open_stored(path) as fh:
        check_inflation_stream(fh)


def check_inflation_stream(fh: BinaryIO) -> None:
    """:func:`check_inflation_file` for an open plaintext reader (left at an undefined position)."""
    fh.seek(0)
    head = fh.read(65536)
    meta_start = 132 if head[128:132] == b"DICM" else 0
    body_offset = _meta_end(head, meta_start)
    if body_offset > meta_start and _meta_transfer_syntax(head, meta_start) == syntaxes.deflated():
        fh.seek(0)
        _check_inflation(fh.read(), meta_start, body_offset)


def parse_bytes(data: bytes, *, defer_size: int | None = None) -> ParsedFile:
    """Parse a whole file; raise :class:`NotDicomError` or :class:`UnreadableDicomError`.

    ``defer_size``: values longer than this are not copied out of ``data`` (read when first used)."""
    from pydicom import dcmread

    has_preamble = data[128:132] == b"DICM"
    meta_start = 132 if has_preamble else 0
    if not has_preamble and data[:2] not in _DATASET_STARTS:
        raise NotDicomError("no DICM prefix and no dataset start")
    body_offset = _meta_end(data, meta_start)
    _check_inflation(data, meta_start, body_offset)
    try:
        ds = dcmread(BytesIO(data), force=not has_preamble, defer_size=defer_size)
        ts = _transfer_syntax(ds)
        raw = ds.get_item(PIXEL_DATA_TAG, keep_deferred=True)
    except (NotDicomError, UnreadableDicomError):
        raise
    except Exception as exc:  # pydicom raises many types on broken input
        if not has_preamble:
            raise NotDicomError(f"not parseable as a dataset: {exc}") from exc
        raise UnreadableDicomError(f"cannot parse: {exc}") from exc
    problem = _length_problem(ds, len(data)) if ts != syntaxes.deflated() else None
    if problem:
        raise (UnreadableDicomError if has_preamble else NotDicomError)(problem)
    has_meta = body_offset > meta_start
    if not (has_preamble or has_meta) and ("SOPClassUID" not in ds or "SOPInstanceUID" not in ds):
        raise NotDicomError("no File Meta and no SOP Class/Instance UID")
    return ParsedFile(ds, has_preamble, meta_start, body_offset, ts, *_pixel_location(raw, ts))


def _length_problem(ds: Dataset, size: int) -> str | None:
    """The top-level element whose declared length runs past the end of the data, if any.

    pydicom silently keeps the shorter value (swallowing what follows); Pixel Data is left
    to the pixel size check, which names the shortfall.
    """
    for tag in ds.keys():
        raw = ds.get_item(tag, keep_deferred=True)
        tell, length = getattr(raw, "value_tell", None), getattr(raw, "length", None)
        if tag != PIXEL_DATA_TAG and tell is not None and length not in (None, UNDEFINED_LENGTH):
            if tell + length > size:
                return f"element {tag} declares {length} bytes, past the end of the data"
    return None


def _pixel_location(raw: Any, transfer_syntax: str) -> tuple[int | None, int | None]:
    """(value offset, value length or None if undefined) of a raw Pixel Data element."""
    if raw is None or transfer_syntax == syntaxes.deflated() or getattr(raw, "value_tell", None) is None:
        return None, None  # absent, or offsets refer to the inflated stream
    return int(raw.value_tell), (None if raw.length == UNDEFINED_LENGTH else int(raw.length))


def read_header(path: Path) -> InstanceHeader:
    """Read one file from disk, encrypted at rest or not, and extract its index attributes (Pixel Data not
    loaded). KeyMissingError (app.crypto) when it is encrypted and its data folder locked."""
    from pydicom import dcmread

    from app.crypto import open_stored

    with open_stored(path) as fh:
        head = fh.read(132)
        force = head[128:132] != b"DICM"
        if force and head[:2] not in _DATASET_STARTS:
            raise NotDicomError("no DICM prefix and no dataset start")
        check_inflation_stream(fh)
        fh.seek(0)
        with quiet_value_warnings():
            try:
                ds = dcmread(fh, force=force, defer_size=4096)
                ts = _transfer_syntax(ds)
                raw = ds.get_item(PIXEL_DATA_TAG, keep_deferred=True)
            except Exception as exc:
                raise (NotDicomError if force else UnreadableDicomError)(f"cannot parse: {exc}") from exc
            return extract_header(ds, ts, *_pixel_location(raw, ts))


_TEXT_FIELDS = {  # InstanceHeader field -> DICOM keyword
    "sop_class_uid": "SOPClassUID", "sop_instance_uid": "SOPInstanceUID",
    "study_instance_uid": "StudyInstanceUID", "series_instance_uid": "SeriesInstanceUID",
    "patient_name": "PatientName", "patient_id": "PatientID", "issuer_of_patient_id": "IssuerOfPatientID",
    "patient_birth_date": "PatientBirthDate", "patient_sex": "PatientSex", "accession_number": "AccessionNumber",
    "study_date": "StudyDate", "study_time": "StudyTime", "study_description": "StudyDescription",
    "study_id": "StudyID", "referring_physician": "ReferringPhysicianName", "institution": "InstitutionName",
    "modality": "Modality", "series_description": "SeriesDescription", "body_part": "BodyPartExamined",
}


def extract_header(
    ds: Dataset, transfer_syntax: str, pixel_offset: int | None = None, pixel_length: int | None = None
) -> InstanceHeader:
    """Build an :class:`InstanceHeader`; UIDs are returned as found (validate them separately)."""
    return InstanceHeader(
        **{name: text_value(ds, keyword) for name, keyword in _TEXT_FIELDS.items()},
        **extract_request_fields(ds),
        transfer_syntax_uid=transfer_syntax,
        series_number=number_value(ds, "SeriesNumber", int),
        instance_number=number_value(ds, "InstanceNumber", int),
        geometry=extract_geometry(ds),
        pixel_offset=pixel_offset,
        pixel_length=pixel_length,
        encapsulated=PIXEL_DATA_TAG in ds and pixel_offset is not None and pixel_length is None,
    )
