"""C-FIND at study, series and image level (Study Root; Patient Root when Study Root is refused)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from app.network.nodes import Node
from app.network.scu import CancelWatch, NetworkError, associate
from app.network.syntaxes import uncompressed
from app.tasks import ProgressFn, report

Level = Literal["study", "series", "image"]
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"

RETURN_KEYS: dict[str, tuple[str, ...]] = {
    "study": ("StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
              "StudyDate", "StudyTime", "AccessionNumber", "StudyDescription", "ModalitiesInStudy",
              "ReferringPhysicianName", "StudyID", "NumberOfStudyRelatedSeries",
              "NumberOfStudyRelatedInstances", "SOPClassesInStudy"),
    "series": ("StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
               "BodyPartExamined", "SeriesDate", "NumberOfSeriesRelatedInstances"),
    "image": ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "InstanceNumber"),
}


@dataclass(frozen=True)
class Query:
    """Filters (DICOM matching: ``*`` and ``?`` wildcards; dates as YYYYMMDD)."""

    patient_name: str = ""
    patient_id: str = ""
    accession: str = ""
    modality: str = ""
    date_from: str = ""
    date_to: str = ""
    description: str = ""
    study_uid: str = ""
    series_uid: str = ""

    def identifier(self, level: Level) -> Any:
        from pydicom.dataset import Dataset

        ds = Dataset()
        ds.QueryRetrieveLevel = {"study": "STUDY", "series": "SERIES", "image": "IMAGE"}[level]
        for key in RETURN_KEYS[level]:
            setattr(ds, key, "")
        if level == "study":
            ds.PatientName, ds.PatientID = self.patient_name, self.patient_id
            ds.AccessionNumber, ds.StudyDescription = self.accession, self.description
            ds.ModalitiesInStudy = self.modality
            if self.date_from or self.date_to:
                ds.StudyDate = self.date_from if self.date_from == self.date_to else f"{self.date_from}-{self.date_to}"
        elif level == "series":
            ds.Modality = self.modality
        if level != "study" and not self.study_uid:
            raise ValueError(f"a {level}-level query needs the study UID")
        if level == "image" and not self.series_uid:
            raise ValueError("an image-level query needs the series UID")
        ds.StudyInstanceUID = self.study_uid
        if level == "image":
            ds.SeriesInstanceUID = self.series_uid
        return ds

    def keys(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def to_record(ds: Any) -> dict[str, str]:
    """An identifier as {keyword: text}; multi-valued elements joined with backslashes."""
    out: dict[str, str] = {}
    for elem in ds:
        if elem.keyword in ("QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle") or not elem.keyword:
            continue
        value = elem.value
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            out[elem.keyword] = "\\".join(str(v) for v in value)
        else:
            out[elem.keyword] = "" if value is None else str(value)
    return out


def find(node: Node, calling_aet: str, query: Query, level: Level = "study", *,
         cancel: threading.Event | None = None, progress: ProgressFn | None = None,
         timeout: float = 30.0) -> list[dict[str, str]]:
    """Run one C-FIND; returns one record per match (raises Cancelled / NetworkError)."""
    identifier = query.identifier(level)
    contexts = [(STUDY_ROOT_FIND, uncompressed()), (PATIENT_ROOT_FIND, uncompressed())]
    results: list[dict[str, str]] = []
    with associate(node, calling_aet, contexts, timeout=timeout) as assoc:
        accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
        model = STUDY_ROOT_FIND if STUDY_ROOT_FIND in accepted else PATIENT_ROOT_FIND
        if model not in accepted:
            raise NetworkError(f"{node.name} accepts neither Study Root nor Patient Root C-FIND")
        with CancelWatch(assoc, cancel, 1, model) as watch:
            for status, ds in assoc.send_c_find(identifier, model, msg_id=1):
                if status is None or "Status" not in status:
                    raise NetworkError(f"C-FIND to {node.name}: no response (timeout or abort)")
                code = int(status.Status)
                if code in (0xFF00, 0xFF01) and ds is not None:
                    results.append(to_record(ds))
                    report(progress, len(results), 0, "match")
                elif code == 0xFE00:
                    break
                elif code != 0x0000:
                    raise NetworkError(f"C-FIND to {node.name} failed with status 0x{code:04X}")
            watch.raise_if_cancelled()
    return results
