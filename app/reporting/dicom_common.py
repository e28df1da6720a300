"""Shared helpers for our DICOM outputs: character set, DICOM date/time, instance references, and the repaired
patient/study header they copy from the source (app.reporting.header_repair)."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from app.reporting.header_repair import repair_header

if TYPE_CHECKING:
    from pydicom import Dataset

UTF8 = "ISO_IR 192"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
MANUFACTURER = "Telerad"


@dataclass(frozen=True)
class InstanceRef:
    """Enough of an instance to reference it (Predecessor Documents / Source Instance sequences)."""

    study_uid: str
    series_uid: str
    sop_class_uid: str
    sop_instance_uid: str

    @classmethod
    def read(cls, path: Path) -> "InstanceRef":
        """Reference to the DICOM file at ``path``."""
        from app.dicom.stored import dcmread_stored

        ds = dcmread_stored(path, stop_before_pixels=True,
                            specific_tags=["StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID"])
        return cls(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPClassUID, ds.SOPInstanceUID)

    def as_dataset(self) -> "Dataset":
        """A minimal dataset carrying the four UIDs (what highdicom's evidence/predecessor helpers read)."""
        from pydicom import Dataset

        ds = Dataset()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = self.study_uid, self.series_uid
        ds.SOPClassUID, ds.SOPInstanceUID = self.sop_class_uid, self.sop_instance_uid
        return ds


def choose_charset(source: "Dataset", texts: Iterable[str]) -> str:
    """The source's single-byte character set if it is a DICOM defined term and every text (``texts`` plus the
    copied patient/study values) fits in it (values then compare byte-equal in dcentvfy), else UTF-8; "" for
    the default repertoire (ASCII only; no Specific Character Set written)."""
    from pydicom.charset import convert_encodings

    from app.reporting.header_repair import charset_problem, header_texts

    declared = source.get("SpecificCharacterSet", "") or ""
    values = [declared] if isinstance(declared, str) else list(declared)
    if len(values) > 1 or charset_problem(source):
        return UTF8
    default = values[0] in ("", "ISO_IR 6")
    try:
        encoding = "ascii" if default else convert_encodings(values)[0]
        "".join([*texts, *header_texts(source)]).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return UTF8
    return "" if default else values[0]


def dicom_dt(iso: str) -> tuple[str, str, str]:
    """ISO 8601 timestamp -> (DA, TM, DT with UTC offset)."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    tm = when.strftime("%H%M%S.%f")
    offset = when.strftime("%z") or ""
    return when.strftime("%Y%m%d"), tm, when.strftime("%Y%m%d") + tm + offset


def header_repairs(path: Path) -> list[str]:
    """What :func:`repair_header` changes in the instance at ``path`` (one line each, no values)."""
    from app.dicom.stored import dcmread_stored

    repairs: list[str] = []
    repair_header(dcmread_stored(path, stop_before_pixels=True), repairs)
    return repairs


def sanitized_source(source: "Dataset") -> "Dataset":
    """What highdicom copies patient/study values from (it copies every attribute of those modules it finds):
    only the repaired attributes of our module table, type 2 ones created empty when the source lacks them.
    Its SOP Class is ours (highdicom looks the modules up by it, and knows no private class); its
    reference in the SR's evidence is set right by :func:`fix_source_evidence`."""
    from pydicom import Dataset

    from app.reporting.study_source import copy_patient_study

    repaired = repair_header(deepcopy(source))
    ds = Dataset()
    copy_patient_study(repaired, ds)
    ds.SOPClassUID = COMPREHENSIVE_SR
    ds.SOPInstanceUID = str(source.get("SOPInstanceUID", ""))
    ds.SeriesInstanceUID = str(source.get("SeriesInstanceUID", ""))
    return ds


def fix_source_evidence(sr: "Dataset", source: "Dataset") -> None:
    """Give the source's reference in the SR evidence its real SOP Class, or remove it (and emptied parent
    items) when one of the source's UIDs is invalid: a reference may not carry an invalid UID."""
    uid = str(source.get("SOPInstanceUID", ""))
    valid = all(_uid_ok(source.get(k)) for k in ("SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID"))
    studies = sr.get("CurrentRequestedProcedureEvidenceSequence") or []
    for study in studies:
        for series in study.get("ReferencedSeriesSequence") or []:
            items = series.get("ReferencedSOPSequence") or []
            for item in items:
                if item.ReferencedSOPInstanceUID == uid:
                    item.ReferencedSOPClassUID = str(source.SOPClassUID)
            series.ReferencedSOPSequence = [i for i in items if valid or i.ReferencedSOPInstanceUID != uid]
        study.ReferencedSeriesSequence = [s for s in study.get("ReferencedSeriesSequence") or []
                                          if s.ReferencedSOPSequence]
    kept = [s for s in studies if s.ReferencedSeriesSequence]
    if "CurrentRequestedProcedureEvidenceSequence" in sr:
        if kept:
            sr.CurrentRequestedProcedureEvidenceSequence = kept
        else:
            del sr.CurrentRequestedProcedureEvidenceSequence


def _uid_ok(value: object) -> bool:
    from pydicom.uid import UID

    return bool(value) and UID(str(value)).is_valid
