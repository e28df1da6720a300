"""What the network session reports (:class:`NetworkState`), C-FIND rows as worklist summaries, and the
cancel relay of a retrieve (Qt-free)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

# C-FIND keyword -> StudySummary field (what Worklist.refresh(remote=...) understands)
SUMMARY_FIELDS = {
    "StudyInstanceUID": "study_instance_uid", "PatientID": "patient_id", "PatientName": "patient_name",
    "PatientBirthDate": "patient_birth_date", "PatientSex": "patient_sex", "StudyDate": "study_date",
    "StudyTime": "study_time", "StudyDescription": "description", "AccessionNumber": "accession",
    "ModalitiesInStudy": "modalities", "NumberOfStudyRelatedSeries": "num_series",
    "NumberOfStudyRelatedInstances": "num_instances", "ReferringPhysicianName": "referring_physician",
}


@dataclass(frozen=True)
class NetworkState:
    """What the status bar shows."""

    listening: bool
    port: int | None
    ae_title: str
    tls: bool
    nodes: tuple[str, ...]
    scp_error: str = ""  # why the SCP is not listening although it should
    last_error: str = ""  # the latest failed network operation ("" once one succeeds again)
    active: int = 0  # retrieves running
    restart_pending: bool = False  # the SCP restarts (or stops) when the running retrieves end


def to_summary(record: dict[str, str], node: str) -> dict[str, Any]:
    """A study-level C-FIND record as a dict with :class:`~app.store.StudySummary` field names."""
    out: dict[str, Any] = {field: record.get(key, "") for key, field in SUMMARY_FIELDS.items()}
    for key in ("num_series", "num_instances"):
        out[key] = int(out[key]) if str(out[key]).strip().isdigit() else 0
    out["source_node"] = node
    return out


class Relay:
    """Sets ``target`` when the caller's ``source`` event is set (so shutdown can cancel too)."""

    def __init__(self, source: threading.Event | None, target: threading.Event) -> None:
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        if source is not None:
            if source.is_set():
                target.set()
            self._thread = threading.Thread(target=self._run, args=(source, target), daemon=True,
                                            name="telerad-cancel-relay")
            self._thread.start()

    def _run(self, source: threading.Event, target: threading.Event) -> None:
        while not self._done.is_set():
            if source.wait(0.1):
                target.set()
                return

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(1.0)


