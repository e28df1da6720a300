"""Patient/study attributes taken from a source instance of the study (so dcentvfy finds them consistent)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.reporting.header_repair import PATIENT_STUDY_TYPES
from app.reporting.model import StudyInfo

if TYPE_CHECKING:
    from pydicom import Dataset

# Patient, General Study and Patient Study module attributes copied (their Types: header_repair).
PATIENT_STUDY_KEYWORDS: tuple[str, ...] = tuple(PATIENT_STUDY_TYPES)
# Type 2 attributes our IODs require; created empty when the source lacks them.
REQUIRED_EMPTY: tuple[str, ...] = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber",
)


def read_source(path: Path) -> "Dataset":
    """Header of one instance of the study (pixel data skipped), invalid patient/study values blanked."""
    from app.dicom.stored import dcmread_stored
    from app.reporting.dicom_common import repair_header

    return repair_header(dcmread_stored(path, stop_before_pixels=True))


def copy_patient_study(source: "Dataset", target: "Dataset") -> None:
    """Copy patient/study attributes from ``source`` into ``target`` (type 2 ones created empty if absent)."""
    from copy import deepcopy

    for keyword in PATIENT_STUDY_KEYWORDS:
        if keyword in source:
            setattr(target, keyword, deepcopy(source[keyword].value))
    for keyword in REQUIRED_EMPTY:
        if keyword not in target:
            setattr(target, keyword, "")


def study_info(source: "Dataset") -> StudyInfo:
    """The header snapshot a report keeps (names as DICOM PN strings)."""

    def text(keyword: str) -> str:
        value = source.get(keyword, "")
        return "" if value is None else str(value)

    return StudyInfo(
        study_uid=text("StudyInstanceUID"), patient_name=text("PatientName"), patient_id=text("PatientID"),
        birth_date=text("PatientBirthDate"), sex=text("PatientSex"), study_date=text("StudyDate"),
        study_time=text("StudyTime"), accession=text("AccessionNumber"), study_description=text("StudyDescription"),
        modality=text("Modality"), body_part=text("BodyPartExamined"), referring=text("ReferringPhysicianName"),
        institution=text("InstitutionName"),
    )
