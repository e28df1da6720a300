"""Shared helpers for our DICOM outputs: character set, DICOM date/time, instance references."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from pydicom import Dataset

UTF8 = "ISO_IR 192"
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
        import pydicom

        ds = pydicom.dcmread(str(path), stop_before_pixels=True,
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
    """The source's single-byte character set if every text fits in it (values then compare byte-equal in
    dcentvfy), else UTF-8; "" for the default repertoire (no Specific Character Set written)."""
    from pydicom.charset import convert_encodings

    declared = source.get("SpecificCharacterSet", "") or ""
    values = [declared] if isinstance(declared, str) else list(declared)
    if len(values) > 1:
        return UTF8
    try:
        encoding = convert_encodings(values)[0]
        "".join(texts).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return UTF8
    return "" if values[0] in ("", "ISO_IR 6") else values[0]


def dicom_dt(iso: str) -> tuple[str, str, str]:
    """ISO 8601 timestamp -> (DA, TM, DT with UTC offset)."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    tm = when.strftime("%H%M%S.%f")
    offset = when.strftime("%z") or ""
    return when.strftime("%Y%m%d"), tm, when.strftime("%Y%m%d") + tm + offset


def _valid_da(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return True


_AGE = __import__("re").compile(r"\d{3}[DWMY]")


def repair_header(ds: "Dataset") -> "Dataset":
    """Blank the patient/study values that break valid output (in place): impossible dates
    ("00000000"), a Patient's Sex other than M/F/O, a malformed Patient's Age ("0Y")."""
    for keyword in ("PatientBirthDate", "StudyDate"):
        value = str(ds.get(keyword, "") or "")
        if value and not _valid_da(value):
            setattr(ds, keyword, "")
    if "PatientSex" in ds and str(ds.PatientSex or "").upper() not in ("", "M", "F", "O"):
        ds.PatientSex = ""
    if "PatientAge" in ds and not _AGE.fullmatch(str(ds.PatientAge or "")):
        del ds.PatientAge
    return ds


def sanitized_source(source: "Dataset") -> "Dataset":
    """A repaired copy of ``source`` (highdicom copies patient/study values from it): invalid values
    blanked, and the type 2 attributes it reads created empty when a device left them out."""
    from copy import deepcopy

    ds = repair_header(deepcopy(source))
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                    "AccessionNumber", "StudyID", "ReferringPhysicianName"):
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds
