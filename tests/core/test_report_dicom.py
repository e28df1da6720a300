"""DICOM outputs: TID 2000 Comprehensive SR and Encapsulated PDF in the original study, checked by
dciodvfy and dcentvfy; an addendum references its predecessor and leaves the original untouched."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pydicom
import pytest

from app.reporting.dicom_pdf import extract_pdf
from app.reporting.outbox import Outbox
from app.reporting.signing import load_identity
from app.reporting.verify import verify_pdf
from app.reporting.workflow import report_files_dir, sign_report
from tests.core.report_fixtures import SignedCase, sign_shared_study, study_files

PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate",
                 "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName", "StudyDescription")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> SignedCase:
    return sign_shared_study(tmp_path_factory.mktemp("dicom"), shared_data, node="ORIGIN")


def dciodvfy_errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def _walk(items):
    for item in items:
        yield item
        yield from _walk(item.get("ContentSequence", []))


def test_sr_and_encapsulated_pdf_pass_dciodvfy(case: SignedCase) -> None:
    for path in (case.result.sr, case.result.encapsulated_pdf):
        assert dciodvfy_errors(path) == [], path.name
    print(f"\nSR {case.result.sr.stat().st_size} bytes, encapsulated PDF {case.result.encapsulated_pdf.stat().st_size}"
          " bytes")


def test_dcentvfy_study_plus_our_objects(case: SignedCase, shared_data: Path) -> None:
    files = [str(p) for p in study_files(shared_data)] + [str(case.result.sr), str(case.result.encapsulated_pdf)]
    out = subprocess.run(["dcentvfy", *files], capture_output=True, text=True)
    errors = [line for line in (out.stdout + out.stderr).splitlines() if "Error" in line]
    assert errors == [] and out.returncode == 0


def test_sr_content_follows_tid_2000(case: SignedCase) -> None:
    sr = pydicom.dcmread(case.result.sr)
    src = pydicom.dcmread(case.source, stop_before_pixels=True)
    report = case.result.report
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33" and sr.Modality == "SR"
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "2000"
    assert sr.ConceptNameCodeSequence[0].CodeValue == "18748-4"
    assert (sr.VerificationFlag, sr.CompletionFlag, sr.PreliminaryFlag) == ("VERIFIED", "COMPLETE", "FINAL")
    assert sr.VerifyingObserverSequence[0].VerifyingObserverName == "Example^Alice^^Dr"
    assert sr.SeriesInstanceUID != src.SeriesInstanceUID
    for keyword in PATIENT_STUDY:
        assert sr.get(keyword) == src.get(keyword), keyword
    items = list(_walk(sr.ContentSequence))
    meanings = {i.ConceptNameCodeSequence[0].CodeMeaning for i in items if "ConceptNameCodeSequence" in i}
    assert {"Person Observer Name", "History", "Findings", "Impressions", "Finding", "Impression"} <= meanings
    texts = [i.TextValue for i in items if i.ValueType == "TEXT"]
    assert report.sections["findings"] in texts and report.sections["impression"] in texts
    assert any(t.startswith("CRITICAL RESULT") and "Dr Bob Referrer" in t for t in texts)
    nums = [i for i in items if i.ValueType == "NUM"]
    units = {n.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue for n in nums}
    assert units == {"mm", "[hnsf'U]"}
    assert all(n.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodingSchemeDesignator == "UCUM"
               for n in nums)
    images = [i for i in items if i.ValueType == "IMAGE"]
    assert {i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in images} == {src.SOPInstanceUID}
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == src.StudyInstanceUID


def test_encapsulated_pdf_holds_the_signed_pdf(case: SignedCase) -> None:
    ds = pydicom.dcmread(case.result.encapsulated_pdf)
    pdf = case.result.pdf.read_bytes()
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1" and ds.Modality == "DOC"
    assert ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert ds.EncapsulatedDocumentLength == len(pdf) and len(ds.EncapsulatedDocument) % 2 == 0
    assert extract_pdf(ds) == pdf
    assert verify_pdf(extract_pdf(ds), [case.pki.ca_pem]).ok
    assert ds.StudyInstanceUID == pydicom.dcmread(case.result.sr).StudyInstanceUID
    assert ds.SeriesInstanceUID != pydicom.dcmread(case.result.sr).SeriesInstanceUID


def test_outputs_recorded_and_queued_with_the_signature(case: SignedCase) -> None:
    store, report = case.store, case.result.report
    outs = {o.role: o for o in store.outputs(report.id)}
    assert set(outs) == {"pdf", "sr", "epdf"}
    for out in outs.values():
        assert hashlib.sha256(Path(out.path).read_bytes()).hexdigest() == out.sha256
    queued = Outbox(store.db, send=lambda p, n: None).items(report.id)
    assert {(i.sop_instance_uid, i.node, i.state) for i in queued} == {
        (outs["sr"].sop_instance_uid, "ORIGIN", "queued"), (outs["epdf"].sop_instance_uid, "ORIGIN", "queued")}


def test_addendum_references_original_which_stays_unchanged(case: SignedCase, tmp_path: Path) -> None:
    store, original = case.store, case.result.report
    before = {o.path: Path(o.path).read_bytes() for o in store.outputs(original.id)}
    addendum = store.create_addendum(original.id, "Correction: the comparison study was available.")
    store.update_section(addendum.id, "comparison", "CT head of the same day (tilted series).")
    identity = load_identity(case.pki.p12, case.pki.password)
    result = sign_report(store, addendum.id, identity, case.source, report_files_dir(case.home))
    assert {p: Path(p).read_bytes() for p in before} == before
    assert store.get(original.id) == original and store.hash_ok(original.id)
    sr, old_sr = pydicom.dcmread(result.sr), pydicom.dcmread(case.result.sr)
    pred = sr.PredecessorDocumentsSequence[0]
    assert pred.StudyInstanceUID == old_sr.StudyInstanceUID
    assert pred.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == old_sr.SOPInstanceUID
    epdf = pydicom.dcmread(result.encapsulated_pdf)
    assert old_sr.SOPInstanceUID in {i.ReferencedSOPInstanceUID for i in epdf.SourceInstanceSequence}
    assert sr.SeriesNumber != old_sr.SeriesNumber
    for path in (result.sr, result.encapsulated_pdf):
        assert dciodvfy_errors(path) == [], path.name
    assert verify_pdf(result.pdf, [case.pki.ca_pem]).ok
