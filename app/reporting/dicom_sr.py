"""Comprehensive SR following TID 2000 (Basic Diagnostic Imaging Report), built with highdicom."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from app.reporting.dicom_common import (
    MANUFACTURER, InstanceRef, choose_charset, dicom_dt, fix_source_evidence, sanitized_source,
)
from app.reporting.model import ImageRef, Measurement, Report, ReportKind, ReportState

if TYPE_CHECKING:
    from pydicom import Dataset

# Report section -> (TID 2001 heading from CID 7001, TID 2002 text item concept), as (value, scheme, meaning).
HEADINGS: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "clinical_information": (("121060", "DCM", "History"), ("121060", "DCM", "History")),
    "technique": (("121064", "DCM", "Current Procedure Descriptions"), ("121065", "DCM", "Procedure Description")),
    "comparison": (("121066", "DCM", "Prior Procedure Descriptions"), ("121065", "DCM", "Procedure Description")),
    "findings": (("121070", "DCM", "Findings"), ("121071", "DCM", "Finding")),
    "impression": (("121072", "DCM", "Impressions"), ("121073", "DCM", "Impression")),
}
_MEASUREMENT_CONCEPTS = {
    "length": ("410668003", "SCT", "Length"), "diameter": ("81827009", "SCT", "Diameter"),
    "area": ("42798000", "SCT", "Area"), "volume": ("118565006", "SCT", "Volume"),
}
LOCAL_SCHEME = "99TELERAD"


def _code(triple: tuple[str, str, str]) -> Any:
    from highdicom.sr import CodedConcept

    return CodedConcept(*triple)


def _image_item(ref: ImageRef, concept: tuple[str, str, str], relationship: str) -> Any:
    from highdicom.sr import ImageContentItem

    return ImageContentItem(name=_code(concept), referenced_sop_class_uid=ref.sop_class_uid,
                            referenced_sop_instance_uid=ref.sop_instance_uid,
                            referenced_frame_numbers=ref.frame, relationship_type=relationship)


def _measurement(m: Measurement, index: int) -> Any:
    from highdicom.sr import NumContentItem

    concept = _MEASUREMENT_CONCEPTS.get(m.label.strip().lower(), (f"M{index}", LOCAL_SCHEME, m.label[:64] or "Value"))
    item = NumContentItem(name=_code(concept), value=m.value, unit=_code((m.unit, "UCUM", m.unit)),
                          relationship_type="CONTAINS")
    if m.image is not None:
        item.ContentSequence = [_image_item(m.image, ("121112", "DCM", "Source of Measurement"), "INFERRED FROM")]
    return item


def _text(concept: tuple[str, str, str], value: str, children: Sequence[Any] = ()) -> Any:
    from highdicom.sr import TextContentItem

    item = TextContentItem(name=_code(concept), value=value, relationship_type="CONTAINS")
    if children:
        item.ContentSequence = list(children)
    return item


def _heading(concept: tuple[str, str, str], items: Sequence[Any]) -> Any:
    from highdicom.sr import ContainerContentItem

    container = ContainerContentItem(name=_code(concept), relationship_type="CONTAINS")
    container.ContentSequence = list(items)
    return container


def _sections(report: Report) -> list[Any]:
    out = []
    if report.kind == ReportKind.ADDENDUM and report.addendum_note.strip():
        addendum = ("121078", "DCM", "Addendum")
        out.append(_heading(addendum, [_text(addendum, report.addendum_note)]))
    for key, (heading, concept) in HEADINGS.items():
        items = [_text(concept, report.sections[key])] if report.sections.get(key, "").strip() else []
        if key == "findings":
            items += [_measurement(m, i + 1) for i, m in enumerate(report.measurements)]
            items += [_text(concept, k.caption or "Key image",
                            [_image_item(k.image, ("121080", "DCM", "Best illustration of finding"), "INFERRED FROM")])
                      for k in report.key_images]
        if key == "impression" and report.critical:
            told = "; ".join(f"communicated to {n.recipient} by {n.method} at {n.communicated_at}"
                             for n in report.notices)
            items.append(_text(concept, f"CRITICAL RESULT: {report.critical_text}" + (f" ({told})" if told else "")))
        if items:
            out.append(_heading(heading, items))
    return out


def _content(report: Report, observer_name: str, organization: str) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    root = hd.sr.ContainerContentItem(name=_code(("18748-4", "LN", "Diagnostic Imaging Report")), template_id="2000")
    language = hd.sr.LanguageOfContentItemAndDescendants(_code(("en-US", "RFC5646", "English (United States)")))
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=observer_name, organization_name=organization or None))
    root.ContentSequence = [*language, *observer, *_sections(report)]
    return root


def _texts(report: Report) -> list[str]:
    s = report.study
    return [*report.sections.values(), report.addendum_note, report.critical_text, report.signer_name,
            *(m.label for m in report.measurements), *(k.caption for k in report.key_images),
            s.patient_name, s.study_description, s.referring]


def build_sr(report: Report, source: "Dataset", series_uid: str, sop_uid: str, series_number: int,
             organization: str, institution: str = "", predecessors: Sequence[InstanceRef] = (),
             evidence: Sequence["Dataset"] = ()) -> "Dataset":
    """The report as Comprehensive SR in ``source``'s study; VERIFIED (with Verifying Observer) once signed."""
    import highdicom as hd

    import warnings

    signed = report.state == ReportState.FINAL
    refs = [m.image for m in report.measurements if m.image] + [k.image for k in report.key_images]
    image_evidence = {r.sop_instance_uid: InstanceRef(report.study.study_uid, r.series_uid, r.sop_class_uid,
                                                      r.sop_instance_uid).as_dataset() for r in refs}
    with warnings.catch_warnings():  # highdicom warns about one-component names copied from the source
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person name")
        sr = _comprehensive_sr(hd, report, source, series_uid, sop_uid, series_number, organization, institution,
                               predecessors, [sanitized_source(source), *evidence, *image_evidence.values()],
                               signed)
    fix_source_evidence(sr, source)
    if any(m.label.strip().lower() not in _MEASUREMENT_CONCEPTS for m in report.measurements):
        sr.CodingSchemeIdentificationSequence = [_local_scheme()]
    if signed:
        da, tm, dt = dicom_dt(report.signed_at)
        sr.VerifyingObserverSequence[0].VerificationDateTime = dt
        sr.ContentDate, sr.ContentTime = da, tm
    return sr


def _local_scheme() -> "Dataset":
    from pydicom import Dataset

    item = Dataset()
    item.CodingSchemeDesignator = LOCAL_SCHEME
    item.CodingSchemeName = "Telerad local measurement labels"
    item.CodingSchemeResponsibleOrganization = "Telerad"
    return item


def _comprehensive_sr(hd: Any, report: Report, source: "Dataset", series_uid: str, sop_uid: str,
                      series_number: int, organization: str, institution: str, predecessors: Sequence[InstanceRef],
                      evidence: list["Dataset"], signed: bool) -> "Dataset":
    return hd.sr.ComprehensiveSR(
        evidence=evidence,
        content=_content(report, report.signer_name or "Unknown^Observer", organization),
        series_instance_uid=series_uid, series_number=series_number, sop_instance_uid=sop_uid, instance_number=1,
        manufacturer=MANUFACTURER, is_complete=True, is_final=signed, is_verified=signed,
        institution_name=institution or None, verifying_observer_name=report.signer_name if signed else None,
        verifying_organization=organization if signed else None,
        previous_versions=[p.as_dataset() for p in predecessors] or None,
        specific_character_set=choose_charset(source, _texts(report)) or None,
        series_description="Radiology report addendum (SR)" if report.kind == ReportKind.ADDENDUM
        else "Radiology report (SR)",
    )
