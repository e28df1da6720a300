"""Typed results and records returned by the study cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.dicom.header import Geometry

StoreStatus = Literal["imported", "duplicate", "quarantined", "rejected"]


@dataclass(frozen=True)
class StoreResult:
    """Outcome of storing one object. ``skip``: rejected input that is not an instance at all
    (not DICOM, or a DICOMDIR): importers count it as skipped, not as an error."""

    status: StoreStatus
    reason: str | None = None
    sop_instance_uid: str | None = None
    study_instance_uid: str | None = None
    skip: bool = False
    patient_id: str | None = field(default=None, repr=False)  # for audit hashing only; never log


@dataclass(frozen=True, slots=True)
class StudySummary:
    """One row of the study list."""

    study_instance_uid: str
    patient_id: str
    patient_name: str
    issuer_of_patient_id: str
    patient_birth_date: str
    patient_sex: str
    study_date: str
    study_time: str
    description: str
    accession: str
    modalities: tuple[str, ...]
    num_series: int
    num_instances: int
    body_part: str
    institution: str
    referring_physician: str
    source_node: str | None
    received: str
    flags: tuple[str, ...]  # "conflict" (a UID came with other content), "incomplete" (retrieve ended short)
    requested_procedure_priority: str = ""  # (0040,1003)
    study_priority_id: str = ""  # (0032,000C)
    patient_age: str = ""  # (0010,1010) as found, e.g. "045Y"
    requesting_service: str = ""  # (0032,1033)
    incomplete_reason: str = ""  # why the study is flagged "incomplete" (with the expected count if known)
    expected_instances: int | None = None  # of a study flagged "incomplete", when the retrieve knew the total


@dataclass(frozen=True)
class SeriesSummary:
    """One series of a study."""

    series_instance_uid: str
    study_instance_uid: str
    modality: str
    series_number: int | None
    description: str
    body_part: str
    num_instances: int


@dataclass(frozen=True)
class InstanceRecord:
    """One stored instance, with what the viewer needs to read pixels without reparsing."""

    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    instance_number: int | None
    transfer_syntax_uid: str
    path: Path  # absolute
    size: int
    sha256: str
    pixel_offset: int | None
    pixel_length: int | None
    encapsulated: bool
    state: Literal["ok", "missing"]
    geometry: Geometry


@dataclass(frozen=True)
class QuarantineRecord:
    """A file kept aside (UID conflict, orphan)."""

    path: Path
    sha256: str
    sop_instance_uid: str | None
    study_instance_uid: str | None
    reason: str
    source: str | None
    time: str
    source_node: str | None = None


@dataclass
class ReconcileReport:
    """What :meth:`Cache.open` found and repaired."""

    unclean_shutdown: bool = False
    integrity: str = "not checked"
    database_rebuilt: bool = False
    temp_removed: int = 0
    reindexed: int = 0
    quarantined: int = 0
    marked_missing: int = 0
    restored: int = 0
    quarantine_rows_added: int = 0
    quarantine_rows_dropped: int = 0
    deletions_finished: int = 0
    empty_removed: int = 0
    walked: int = 0  # files compared with the index (0: the store was not walked, after a clean shutdown)

    @property
    def repaired_anything(self) -> bool:
        """True if reconcile changed the cache."""
        counts = (self.temp_removed, self.reindexed, self.quarantined, self.marked_missing, self.restored)
        extra = (self.quarantine_rows_added, self.quarantine_rows_dropped, self.deletions_finished)
        return self.database_rebuilt or any(counts) or any(extra) or bool(self.empty_removed)
