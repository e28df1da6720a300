"""Report model: persistence, states, immutability of signed reports, addenda, critical findings."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from app.reporting.model import (
    SECTION_KEYS, CriticalNotice, ImageRef, ImmutableReportError, KeyImage, Measurement, ReportError, ReportKind,
    ReportState, StudyInfo,
)
from app.reporting.schema import SCHEMA_VERSION, SchemaError, open_db, schema_version
from app.reporting.store import OutputFile, ReportStore, utc_now

STUDY = StudyInfo("1.2.826.0.1.3680043.8.498.1", patient_name="DOE^JANE", patient_id="P-1", modality="CT")
REF = ImageRef("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5", "1.2.3.4")


@pytest.fixture()
def store(tmp_path: Path) -> ReportStore:
    s = ReportStore(tmp_path / "reports.sqlite")
    yield s
    s.close()


def _sign(store: ReportStore, report_id: str) -> None:
    signed = store.signed_version(report_id, "Example^Alice", utc_now())
    store.finalize(signed, [OutputFile("pdf", "/nowhere/report.pdf", "ab" * 32, 10)])


def test_schema_is_versioned_wal_and_refuses_newer(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    db = open_db(path)
    assert schema_version(db) == SCHEMA_VERSION
    assert db.journal_mode == "wal"
    assert {"reports", "report_outputs", "critical_notices", "outbox"} <= set(db.table_names())
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(SchemaError):
        open_db(path)


def test_draft_sections_persist_across_reopen(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "r.sqlite")
    report = store.create_draft(STUDY, {"findings": "Normal."}, "ct-head")
    assert set(report.sections) == set(SECTION_KEYS) and report.state == ReportState.DRAFT
    store.update_section(report.id, "impression", "No acute abnormality ≥ 5 mm.")
    store.add_measurement(report.id, Measurement("Length", 12.5, "mm", REF))
    store.add_key_image(report.id, KeyImage(REF, "", "axial"))
    store.close()
    again = ReportStore(tmp_path / "r.sqlite").get(report.id)
    assert again.sections["findings"] == "Normal."
    assert again.sections["impression"] == "No acute abnormality ≥ 5 mm."
    assert again.measurements == (Measurement("Length", 12.5, "mm", REF),)
    assert again.key_images[0].image == REF and again.revision == 3
    assert again.study == STUDY and again.template_id == "ct-head"


def test_one_original_report_per_study(store: ReportStore) -> None:
    store.create_draft(STUDY)
    with pytest.raises(ReportError):
        store.create_draft(STUDY)
    with pytest.raises(ReportError):
        store.update_section(store.original_for_study(STUDY.study_uid).id, "nonsense", "x")


def test_states_and_signed_report_is_immutable(store: ReportStore) -> None:
    report = store.create_draft(STUDY, {"findings": "Normal."})
    store.mark_preliminary(report.id)
    assert store.get(report.id).state == ReportState.PRELIMINARY
    store.update_section(report.id, "impression", "Normal study.")  # preliminary is still editable
    _sign(store, report.id)
    signed = store.get(report.id)
    assert signed.state == ReportState.FINAL and signed.content_hash.startswith("sha256:")
    assert store.hash_ok(report.id)
    for attempt in (lambda: store.update_section(report.id, "findings", "changed"),
                    lambda: store.add_measurement(report.id, Measurement("Length", 1, "mm")),
                    lambda: store.set_critical(report.id, True, "x"),
                    lambda: store.mark_preliminary(report.id),
                    lambda: store.signed_version(report.id, "Other^Bob", utc_now())):
        with pytest.raises(ImmutableReportError):
            attempt()
    # Even raw SQL cannot change or delete it (triggers), nor its recorded outputs.
    for sql in ("UPDATE reports SET sections_json = '{}'", "DELETE FROM reports",
                "UPDATE report_outputs SET path = 'x'", "DELETE FROM report_outputs"):
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute(sql)
    assert store.get(report.id) == signed


def test_hash_detects_tampering_behind_the_triggers(store: ReportStore) -> None:
    report = store.create_draft(STUDY, {"findings": "Normal."})
    _sign(store, report.id)
    store.db.execute("DROP TRIGGER reports_final_immutable")
    store.db.execute("UPDATE reports SET sections_json = ? WHERE id = ?",
                     ['{"findings": "Forged."}', report.id])
    assert not store.hash_ok(report.id)


def test_edit_during_signing_aborts_the_signature(store: ReportStore) -> None:
    report = store.create_draft(STUDY, {"findings": "Normal."})
    signed = store.signed_version(report.id, "Example^Alice", utc_now())
    store.update_section(report.id, "findings", "Typed after the PDF was rendered.")
    with pytest.raises(ReportError):
        store.finalize(signed, [])
    assert store.get(report.id).state == ReportState.DRAFT


def test_addendum_references_signed_predecessor(store: ReportStore) -> None:
    assert store.study_status(STUDY.study_uid) == ""
    report = store.create_draft(STUDY, {"findings": "Normal.", "impression": "Normal."})
    with pytest.raises(ReportError):
        store.create_addendum(report.id)  # predecessor not signed yet
    _sign(store, report.id)
    original = store.get(report.id)
    addendum = store.create_addendum(report.id, "Late finding")
    assert store.study_status(STUDY.study_uid) == "final"
    assert addendum.kind == ReportKind.ADDENDUM and addendum.predecessor_id == report.id
    assert addendum.sections == original.sections and addendum.state == ReportState.DRAFT
    store.update_section(addendum.id, "impression", "Small scalp hematoma.")
    _sign(store, addendum.id)
    assert store.study_status(STUDY.study_uid) == "addended"
    assert store.get(report.id) == original
    assert [r.id for r in store.for_study(STUDY.study_uid)] == [report.id, addendum.id]


def test_critical_findings_and_notices(store: ReportStore) -> None:
    report = store.create_draft(STUDY, {"findings": "Large subdural hematoma."})
    store.set_critical(report.id, True, "Acute subdural hematoma")
    notice = CriticalNotice("Dr Bob Referrer", "phone", "2025-01-02T10:00:00+00:00", "Example^Alice", "read back")
    store.record_critical_notice(report.id, notice)
    _sign(store, report.id)
    late = replace(notice, recipient="Ward nurse", method="secure message")
    store.record_critical_notice(report.id, late)  # communications may follow signing
    got = store.get(report.id)
    assert got.critical and got.critical_text == "Acute subdural hematoma"
    assert got.notices == (notice, late)
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("DELETE FROM critical_notices")
    with pytest.raises(ReportError):
        store.record_critical_notice("no-such-report", notice)
