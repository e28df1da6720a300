"""Encapsulated PDF Storage instance (pydicom) holding the signed report PDF, in the original study."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from app.reporting.dicom_common import MANUFACTURER, InstanceRef, choose_charset, dicom_dt
from app.reporting.model import Report, ReportKind, ReportState
from app.reporting.study_source import copy_patient_study

if TYPE_CHECKING:
    from pydicom import Dataset

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"


def _concept(value: str, scheme: str, meaning: str) -> "Dataset":
    from pydicom import Dataset

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _source_items(predecessors: Sequence[InstanceRef]) -> list["Dataset"]:
    from pydicom import Dataset

    items = []
    for p in predecessors:
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = p.sop_class_uid, p.sop_instance_uid
        item.PurposeOfReferenceCodeSequence = [_concept("121078", "DCM", "Addendum")]
        items.append(item)
    return items


def build_encapsulated_pdf(pdf: bytes, report: Report, source: "Dataset", series_uid: str, sop_uid: str,
                           series_number: int, institution: str = "",
                           predecessors: Sequence[InstanceRef] = ()) -> "Dataset":
    """A DOC-modality Encapsulated PDF; odd-length PDFs get one NUL pad byte, the real length is recorded."""
    from pydicom import Dataset
    from pydicom.uid import ExplicitVRLittleEndian

    from app.dicom.part10 import file_meta

    ds = Dataset()
    ds.file_meta = file_meta(ENCAPSULATED_PDF_STORAGE, sop_uid, ExplicitVRLittleEndian)
    title = "Radiology report addendum" if report.kind == ReportKind.ADDENDUM else "Radiology report"
    charset = choose_charset(source, [title, report.study.patient_name, institution])
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID, ds.SOPInstanceUID = ENCAPSULATED_PDF_STORAGE, sop_uid
    copy_patient_study(source, ds)
    when = report.signed_at if report.state == ReportState.FINAL else datetime.now().astimezone().isoformat()
    da, tm, dt = dicom_dt(when)
    ds.InstanceCreationDate, ds.InstanceCreationTime = da, tm
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber = "DOC", series_uid, series_number
    ds.SeriesDescription = f"{title} (PDF)"
    ds.Manufacturer, ds.ConversionType = MANUFACTURER, "WSD"
    if institution:
        ds.InstitutionName = institution
    ds.InstanceNumber, ds.ContentDate, ds.ContentTime, ds.AcquisitionDateTime = 1, da, tm, dt
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = title
    ds.ConceptNameCodeSequence = [_concept("18748-4", "LN", "Diagnostic Imaging Report")]
    if predecessors:
        ds.SourceInstanceSequence = _source_items(predecessors)
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(pdf)
    return ds


def extract_pdf(ds: "Dataset") -> bytes:
    """The PDF bytes of an Encapsulated PDF instance, without the pad byte."""
    data = bytes(ds.EncapsulatedDocument)
    length = ds.get("EncapsulatedDocumentLength")
    return data[:length] if length else data.rstrip(b"\0")
