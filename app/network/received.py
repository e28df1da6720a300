"""Checking a received C-STORE and handing its raw bytes to the store callback.

Shared by the Storage SCP (C-MOVE, pushes) and the C-GET SCU. The data set is never decoded as
a whole: only its identifying UIDs are read from the raw bytes, which go on untouched as a
Part 10 file (preamble + hand-encoded File Meta + the bytes as received).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Callable, Literal, Optional

from app.db.connection import storage_failure
from app.dicom.part10 import part10_bytes
from app.dicom.uids import is_valid_uid

LOG = logging.getLogger(__name__)


STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_DATASET_MISMATCH = 0xA900
STATUS_CANNOT_UNDERSTAND = 0xC000

# "queued": handed to a background writer (C-GET/C-MOVE we requested); the final outcome follows.
Outcome = Literal["imported", "duplicate", "quarantined", "rejected", "queued"]


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


def read_uids(data: bytes) -> dict[str, str]:
    """SOP class/instance, study and series UIDs of a Part 10 byte string (raises if unreadable)."""
    from pydicom import dcmread

    ds = dcmread(BytesIO(data), stop_before_pixels=True,
                 specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"])
    return {k: str(ds.get(k, "") or "").strip("\0 ") for k in
            ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")}


def dataset_uids(dataset: bytes | memoryview, transfer_syntax: str, part10_bytes: bytes) -> dict[str, str]:
    """:func:`read_uids` of a received data set: the raw-bytes walker, pydicom when it cannot tell."""
    from app.network.rawuids import ScanError, scan_uids

    try:
        return scan_uids(dataset, transfer_syntax)
    except ScanError:
        return read_uids(part10_bytes)


def part10_uids(data: bytes) -> dict[str, str]:
    """:func:`read_uids` of a Part 10 file: the raw walker after the File Meta, else pydicom."""
    from app.network.rawuids import ScanError, file_meta_end, scan_uids

    try:
        offset, ts = file_meta_end(data)
        return scan_uids(memoryview(data)[offset:], ts)
    except ScanError:
        return read_uids(data)


def _failure(status: int, comment: str) -> tuple[int, str]:
    LOG.warning("C-STORE refused (0x%04X): %s", status, comment)
    return status, comment[:64]


def check_store(raw: bytes | memoryview, cmd_class: str, cmd_instance: str, ts: str, calling: str, peer: str,
                on_stored: StoreCallback, classify: Classifier) -> tuple[int, str | None]:
    """Check one received C-STORE, build the file, call ``on_stored``: (status, error comment).

    Success is answered only when the callback says the instance is durable, or (``"queued"``)
    that a background writer has it and a later failure will be reported by the retrieve.
    """
    if not is_valid_uid(cmd_instance) or not is_valid_uid(cmd_class):
        return _failure(STATUS_CANNOT_UNDERSTAND, "invalid Affected SOP Class/Instance UID")
    data = part10_bytes(raw, cmd_class, cmd_instance, ts, calling)
    try:
        uids = dataset_uids(raw, ts, data)
        if uids["SOPInstanceUID"] != cmd_instance or uids["SOPClassUID"] != cmd_class:
            uids = read_uids(data)  # a refusal is decided by pydicom, never by the fast walker alone
    except Exception as exc:  # the data set does not parse
        return _failure(STATUS_CANNOT_UNDERSTAND, f"unreadable data set: {type(exc).__name__}")
    if uids["SOPInstanceUID"] != cmd_instance:
        return _failure(STATUS_DATASET_MISMATCH, "SOP Instance UID differs from the command's")
    if uids["SOPClassUID"] != cmd_class:
        return _failure(STATUS_DATASET_MISMATCH, "SOP Class UID differs from the command's")
    for key in ("StudyInstanceUID", "SeriesInstanceUID"):
        if not is_valid_uid(uids[key]):
            return _failure(STATUS_CANNOT_UNDERSTAND, f"invalid {key}")
    solicited, node = classify(calling, peer, uids["StudyInstanceUID"])
    meta = ReceivedMeta(cmd_class, cmd_instance, uids["StudyInstanceUID"], uids["SeriesInstanceUID"],
                        ts, calling, peer, node, solicited)
    try:
        outcome = on_stored(data, meta)
    except Exception as exc:
        if storage_failure(exc) is not None:  # a full disk: one line, the peer may retry later
            LOG.error("storing instance %s failed: %s", cmd_instance, storage_failure(exc))
            return _failure(STATUS_OUT_OF_RESOURCES, "out of disk space")
        LOG.exception("storing instance %s failed", cmd_instance)
        return _failure(STATUS_OUT_OF_RESOURCES, "could not store the instance")
    if outcome.status == "rejected":
        return _failure(STATUS_CANNOT_UNDERSTAND, f"rejected: {outcome.reason or 'invalid instance'}")
    return STATUS_SUCCESS, None


def handle_store(event: Any, on_stored: StoreCallback, classify: Classifier) -> Any:
    """pynetdicom EVT_C_STORE handler: :func:`check_store` on the event's request."""
    from pydicom.dataset import Dataset

    req = event.request
    calling = str(event.assoc.requestor.ae_title).strip() if event.assoc.is_acceptor \
        else str(event.assoc.acceptor.ae_title).strip()
    peer = event.assoc.requestor.address if event.assoc.is_acceptor else event.assoc.acceptor.address
    status, comment = check_store(req.DataSet.getbuffer(), str(req.AffectedSOPClassUID or ""),
                                  str(req.AffectedSOPInstanceUID or ""), str(event.context.transfer_syntax),
                                  calling, str(peer), on_stored, classify)
    if comment is None:
        return status
    rsp = Dataset()
    rsp.Status = status
    rsp.ErrorComment = comment
    return rsp
