"""Report value objects: sections, states, measurements, key images, critical findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Mapping, Optional


class ReportState(StrEnum):
    """Life cycle of one report row: draft -> preliminary -> final (signed, immutable)."""

    DRAFT = "draft"
    PRELIMINARY = "preliminary"
    FINAL = "final"


class ReportKind(StrEnum):
    """An original report, or an addendum that corrects/extends a signed predecessor."""

    ORIGINAL = "original"
    ADDENDUM = "addendum"


SECTION_KEYS: tuple[str, ...] = ("clinical_information", "technique", "comparison", "findings", "impression")
SECTION_TITLES: Mapping[str, str] = {
    "clinical_information": "Clinical information",
    "technique": "Technique",
    "comparison": "Comparison",
    "findings": "Findings",
    "impression": "Impression",
}
EDITABLE_STATES = frozenset({ReportState.DRAFT, ReportState.PRELIMINARY})


class ReportError(Exception):
    """A report operation that the model refuses (bad state, unknown report...)."""


class ImmutableReportError(ReportError):
    """Raised when something tries to change a signed report."""


@dataclass(frozen=True)
class StudyInfo:
    """Patient/study header snapshot taken from a source instance when the draft is created."""

    study_uid: str
    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession: str = ""
    study_description: str = ""
    modality: str = ""
    body_part: str = ""
    referring: str = ""
    institution: str = ""


@dataclass(frozen=True)
class ImageRef:
    """A DICOM image reference (for measurements and key images)."""

    sop_class_uid: str
    sop_instance_uid: str
    series_uid: str
    frame: Optional[int] = None


@dataclass(frozen=True)
class Measurement:
    """A numeric finding from the viewer; ``unit`` is a UCUM code (``mm``, ``cm2``, ``[hnsf'U]``)."""

    label: str
    value: float
    unit: str
    image: Optional[ImageRef] = None


@dataclass(frozen=True)
class KeyImage:
    """A key image: its reference, optional PNG thumbnail path for the PDF, and a caption."""

    image: ImageRef
    png_path: str = ""
    caption: str = ""


@dataclass(frozen=True)
class CriticalNotice:
    """One communication of a critical finding: who was told (and their role), how, when, by whom, and
    whether the recipient read the finding back."""

    recipient: str
    method: str
    communicated_at: str
    recorded_by: str
    note: str = ""
    role: str = ""
    read_back: bool = False


@dataclass(frozen=True)
class Report:
    """One report row as stored; ``sections`` maps every key of :data:`SECTION_KEYS` to text."""

    id: str
    study: StudyInfo
    kind: ReportKind
    state: ReportState
    sections: Mapping[str, str]
    template_id: str = ""
    predecessor_id: str = ""
    addendum_note: str = ""
    measurements: tuple[Measurement, ...] = ()
    key_images: tuple[KeyImage, ...] = ()
    critical: bool = False
    critical_text: str = ""
    created_at: str = ""
    updated_at: str = ""
    signed_at: str = ""
    signer_name: str = ""
    content_hash: str = ""
    revision: int = 0
    notices: tuple[CriticalNotice, ...] = field(default=())
    preliminary_signer: str = ""  # a preliminary read signed (SR UNVERIFIED, ORU P), to be finalised by another
    preliminary_signed_at: str = ""
    review: str = ""  # the final reader's agreement with the preliminary read: none / minor / major discrepancy
    review_note: str = ""
    reviewed_by: str = ""

    @property
    def editable(self) -> bool:
        """True while the report is a draft or preliminary."""
        return self.state in EDITABLE_STATES
