"""Checking a received C-STORE and handing its raw bytes to the store callback.

Shared by the Storage SCP (C-MOVE, pushes) and the C-GET SCU. The data set is never decoded as
a whole: only its identifying UIDs are read from the raw bytes, which go on untouched as a
Part 10 file (preamble + hand-encoded File Meta + the bytes as received).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Callable, Literal, Optional

from app.dicom.uids import is_valid_uid

LOG = logging.getLogger(__name__)

IMPLEMENTATION_CLASS_UID = "2.25.303511304992841284296555303426184950549"  # telerad (UUID-derived)
IMPLEMENTATION_VERSION = "TELERAD_010"

STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_DATASET_MISMATCH = 0xA900
STATUS_CANNOT_UNDERSTAND = 0xC000

Outcome = Literal["imported", "duplicate", "quarantined", "rejected"]


@dataclass(frozen=True)
class ReceivedMeta:
    """Where an instance came from and what it claims to be (UIDs checked)."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str
    calling_aet: str
    peer_host: str
    node: str | None  # configured node name of the sender, if known
    solicited: bool  # part of a retrieve we asked for (C-GET, or a C-MOVE we are running)


@dataclass(frozen=True)
class StoreOutcome:
    """What the store callback did; ``imported``/``duplicate``/``quarantined`` are durable."""

    status: Outcome
    reason: str | None = None
    patient_id: str | None = None  # for salted audit hashing only; never logged


# on_stored(part10_bytes, meta) -> outcome; raise to answer "out of resources".
StoreCallback = Callable[[bytes, ReceivedMeta], StoreOutcome]
# decides ``solicited`` and the node name: (calling AE, peer host, study UID) -> (solicited, node)
Classifier = Callable[[str, str, str], "tuple[bool, Optional[str]]"]


def _elem(tag_elem: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH", 2, tag_elem) + vr + b"\0\0" + struct.pack("<L", len(value)) + value
    return struct.pack("<HH", 2, tag_elem) + vr + struct.pack("<H", len(value)) + value


def _pad(value: str, pad: bytes) -> bytes:
    raw = value.encode("ascii")
    return raw + pad if len(raw) % 2 else raw


def part10(dataset: bytes, sop_class: str, sop_instance: str, transfer_syntax: str, source_aet: str) -> bytes:
    """A DICOM file: preamble, File Meta (Explicit VR LE) and the data set bytes as received."""
    body = b"".join((
        _elem(0x0001, b"OB", b"\x00\x01"),
        _elem(0x0002, b"UI", _pad(sop_class, b"\0")),
        _elem(0x0003, b"UI", _pad(sop_instance, b"\0")),
        _elem(0x0010, b"UI", _pad(transfer_syntax, b"\0")),
        _elem(0x0012, b"UI", _pad(IMPLEMENTATION_CLASS_UID, b"\0")),
        _elem(0x0013, b"SH", _pad(IMPLEMENTATION_VERSION, b" ")),
        _elem(0x0016, b"AE", _pad(source_aet[:16] or "UNKNOWN", b" ")),
    ))
    group_length = _elem(0x0000, b"UL", struct.pack("<L", len(body)))
    return b"".join((b"\0" * 128, b"DICM", group_length, body, dataset))


def read_uids(data: bytes) -> dict[str, str]:
    """SOP class/instance, study and series UIDs of a Part 10 byte string (raises if unreadable)."""
    from pydicom import dcmread

    ds = dcmread(BytesIO(data), stop_before_pixels=True,
                 specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"])
    return {k: str(ds.get(k, "") or "").strip("\0 ") for k in
            ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")}


def _failure(status: int, comment: str) -> Any:
    from pydicom.dataset import Dataset

    LOG.warning("C-STORE refused (0x%04X): %s", status, comment)
    rsp = Dataset()
    rsp.Status = status
    rsp.ErrorComment = comment[:64]
    return rsp


def handle_store(event: Any, on_stored: StoreCallback, classify: Classifier) -> Any:
    """pynetdicom EVT_C_STORE handler body: check UIDs, build the file, call ``on_stored``.

    Success is answered only when the callback says the instance is durable.
    """
    req = event.request
    cmd_class = str(req.AffectedSOPClassUID or "")
    cmd_instance = str(req.AffectedSOPInstanceUID or "")
    if not is_valid_uid(cmd_instance) or not is_valid_uid(cmd_class):
        return _failure(STATUS_CANNOT_UNDERSTAND, "invalid Affected SOP Class/Instance UID")
    ts = str(event.context.transfer_syntax)
    calling = str(event.assoc.requestor.ae_title).strip() if event.assoc.is_acceptor \
        else str(event.assoc.acceptor.ae_title).strip()
    peer = event.assoc.requestor.address if event.assoc.is_acceptor else event.assoc.acceptor.address
    data = part10(req.DataSet.getvalue(), cmd_class, cmd_instance, ts, calling)
    try:
        uids = read_uids(data)
    except Exception as exc:  # the data set does not parse
        return _failure(STATUS_CANNOT_UNDERSTAND, f"unreadable data set: {type(exc).__name__}")
    if uids["SOPInstanceUID"] != cmd_instance:
        return _failure(STATUS_DATASET_MISMATCH, "SOP Instance UID differs from the command's")
    if uids["SOPClassUID"] != cmd_class:
        return _failure(STATUS_DATASET_MISMATCH, "SOP Class UID differs from the command's")
    for key in ("StudyInstanceUID", "SeriesInstanceUID"):
        if not is_valid_uid(uids[key]):
            return _failure(STATUS_CANNOT_UNDERSTAND, f"invalid {key}")
    solicited, node = classify(calling, str(peer), uids["StudyInstanceUID"])
    meta = ReceivedMeta(cmd_class, cmd_instance, uids["StudyInstanceUID"], uids["SeriesInstanceUID"],
                        ts, calling, str(peer), node, solicited)
    try:
        outcome = on_stored(data, meta)
    except Exception:
        LOG.exception("storing instance %s failed", cmd_instance)
        return _failure(STATUS_OUT_OF_RESOURCES, "could not store the instance")
    if outcome.status == "rejected":
        return _failure(STATUS_CANNOT_UNDERSTAND, f"rejected: {outcome.reason or 'invalid instance'}")
    return STATUS_SUCCESS
