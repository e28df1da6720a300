"""Report use cases: draft, critical finding, who was told, sign, addendum; each leaves the worklist right."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from app.tasks import ProgressFn
from app.workstation import audit_events
from app.workstation.reading import follow_report

if TYPE_CHECKING:
    from app.reporting.critical import CriticalResult
    from app.reporting.model import CriticalNotice, Report
    from app.reporting.signing import SigningIdentity
    from app.reporting.verify_file import FileVerification
    from app.reporting.workflow import SignedReport
    from app.workstation.workstation import Workstation


def draft(ws: "Workstation", study_uid: str, template_id: Optional[str] = None,
          sections: Optional[Mapping[str, str]] = None) -> "Report":
    """The study's open draft (created from the cache and a template if none exists), ``sections`` applied."""
    from app.reporting.service import draft_for_study

    ctx = ws.reporting()
    known = {r.id for r in ctx.store.for_study(study_uid)}
    report = draft_for_study(ctx, study_uid, template_id, sections)
    if report.id not in known:
        audit_events.report_created(ws, report, amendment=False)
    if "clinical_information" not in (sections or {}):
        report = prefill_clinical_information(ws, report)
    ws.worklist.remark(study_uid)
    return report


def clinical_information(ws: "Workstation", study_uid: str) -> str:
    """The order's reason for exam and clinical history as report text ('' without an order)."""
    summary = ws.cache.get_study(study_uid)
    found = ws.order_marks([summary]).get(study_uid) if summary is not None else None
    if found is None:
        return ""
    lines = [f"Reason for exam: {found.reason}" if found.reason else "",
             f"Clinical history: {found.history}" if found.history else ""]
    return "\n".join(line for line in lines if line)


def prefill_clinical_information(ws: "Workstation", report: "Report") -> "Report":
    """Fill the draft's Clinical information from the order, unless the reader wrote something there (text
    other than the template's)."""
    from app.reporting.service import normal_texts

    if not report.editable:
        return report
    current = report.sections.get("clinical_information", "").strip()
    template_text = normal_texts(ws.reporting(with_cache=False), report).get("clinical_information", "")
    if current and current != template_text.strip():
        return report
    text = clinical_information(ws, report.study.study_uid)
    if not text or text == current:
        return report
    ws.report_store.update_sections(report.id, {"clinical_information": text})
    return ws.report_store.get(report.id)


def open_report(ws: "Workstation", study_uid: str, *, create: bool = True) -> "Optional[Report]":
    """The report to show for a study: the open one, else the newest signed one, else (``create``) a new
    draft; signed objects that a crash kept out of the cache are stored first."""
    from app.reporting.service import current_report, publish_study

    ctx = ws.reporting()
    publish_study(ctx, study_uid)
    found = current_report(ctx.store, study_uid)
    if found is not None and found.editable and str(found.kind) == "original":
        return prefill_clinical_information(ws, found)  # the order may have come after the draft
    return found if found is not None or not create else draft(ws, study_uid)


def set_critical(ws: "Workstation", report_id: str, critical: bool, text: str = "") -> "Report":
    """Flag or clear a critical finding (audited); the worklist row shows it at once."""
    from app.reporting import service

    report = service.set_critical(ws.reporting(with_cache=False), report_id, critical, text)
    ws.worklist.remark(report.study.study_uid)
    return report


def record_notice(ws: "Workstation", report_id: str, notice: "CriticalNotice") -> "Report":
    """Record who was told of the critical finding (audited; allowed after signing)."""
    from app.reporting import service

    report = service.record_notice(ws.reporting(with_cache=False), report_id, notice)
    ws.worklist.remark(report.study.study_uid)
    return report


def sign(ws: "Workstation", report_id: str, identity: "SigningIdentity", node: Optional[str] = None, *,
         communication: "Optional[CriticalNotice]" = None, confirm_normal_text: bool = False,
         preliminary: bool = False, review: str = "", review_note: str = "",
         progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> "SignedReport":
    """Sign: state, outputs and outbox rows in one transaction (the report store), objects into the cache,
    audit; then the study becomes final (an original) or amended (an addendum) on the worklist.
    ``communication`` is recorded (audited) first; a critical report without one is refused
    (CriticalNotCommunicatedError), one still holding the template's normal text too unless
    ``confirm_normal_text`` (NormalTextError). ``preliminary``: a preliminary read (the study shows
    preliminary, unclaimed, for the final reader); finalising one needs ``review`` (none / minor / major)."""
    from app.reporting import service
    from app.reporting.model import ReportKind

    if communication is not None:
        record_notice(ws, report_id, communication)
    result = service.sign(ws.reporting(), report_id, identity, node, confirm_normal_text=confirm_normal_text,
                          preliminary=preliminary, review=review, review_note=review_note,
                          progress=progress, cancel=cancel)
    if preliminary:
        _preliminary_on_worklist(ws, result.report.study.study_uid)
        return result
    follow_report(ws, result.report.study.study_uid, addendum_signed=result.report.kind == ReportKind.ADDENDUM)
    return result


def _preliminary_on_worklist(ws: "Workstation", study_uid: str) -> None:
    """A preliminary read: the study turns preliminary and its claim is released (another reader finalises)."""
    import logging

    from app.workstation.reading import track
    from app.worklist import Status

    if track(ws, study_uid) is None:
        return
    try:
        if ws.worklist.recorded_status(study_uid) is Status.UNREAD:
            ws.worklist.set_status(study_uid, Status.IN_PROGRESS, ws.user, force=True)
        ws.worklist.set_status(study_uid, Status.PRELIMINARY, ws.user, force=True)
        ws.worklist.release(study_uid, ws.user)
    except (ValueError, RuntimeError) as exc:  # an illegal step: logged, the read stays signed
        logging.getLogger(__name__).warning("worklist status not updated: %s", exc)
    ws.worklist.remark(study_uid)


def start_addendum(ws: "Workstation", study_uid: str, note: str = "",
                   sections: Optional[Mapping[str, str]] = None) -> "Report":
    """A draft addendum to the study's signed report (the study turns amended when it is signed)."""
    from app.reporting import service

    ctx = ws.reporting(with_cache=False)
    known = {r.id for r in ctx.store.for_study(study_uid)}
    report = service.start_addendum(ctx, study_uid, note, sections)
    if report.id not in known:
        audit_events.report_created(ws, report, amendment=True)
    ws.worklist.remark(study_uid)
    return report


def check_signable(ws: "Workstation", report_id: str, *, confirm_normal_text: bool = False) -> None:
    """Raise what signing would refuse for a critical report (no communication recorded, normal text)."""
    from app.reporting import critical, service

    report = ws.report_store.get(report_id)
    critical.check_signable(report, service.normal_texts(ws.reporting(with_cache=False), report),
                            confirm_normal_text=confirm_normal_text)


def communicate(ws: "Workstation", report_id: str, recipient: str, method: str, *, role: str = "", when: str = "",
                read_back: bool = False, note: str = "") -> "Report":
    """Record (validated, audited) that the critical result was communicated, by this reader."""
    from app.reporting.critical import communication

    notice = communication(recipient, method, ws.user, role=role, when=when, read_back=read_back, note=note)
    return record_notice(ws, report_id, notice)


def critical_results(ws: "Workstation", since_hours: float = 12.0) -> "list[CriticalResult]":
    """Critical results of the last ``since_hours`` with time from image arrival (the cache's first-received
    time) to communication; open loops first. The accession is the order's when the images have none."""
    from app.reporting.critical import critical_results as listing

    def arrival(study_uid: str) -> str:
        summary = ws.cache.get_study(study_uid)
        return summary.received if summary is not None else ""

    since = datetime.now(timezone.utc) - timedelta(hours=since_hours)
    return _order_accessions(ws, listing(ws.report_store, since, arrival))


def _order_accessions(ws: "Workstation", rows: "list[CriticalResult]") -> "list[CriticalResult]":
    """Rows whose DICOM header had no accession number take their order's (the RIS's) when there is one."""
    from dataclasses import replace

    from app.workstation import orders

    missing = [r.study_uid for r in rows if not r.accession.strip()]
    if not missing or not orders.has_orders(ws):
        return rows
    found = orders.orders_for_studies(ws, missing)
    return [replace(r, accession=found[r.study_uid].accession) if not r.accession.strip() and r.study_uid in found
            else r for r in rows]


def verify_file(ws: "Workstation", path: Path, trust_roots: Sequence[Path]) -> "FileVerification":
    """Verify a signed PDF, Encapsulated PDF or SR against ``trust_roots`` and this data dir's report
    records (recorded hash, patient/study attributes); a file changed after signing is a Security Alert."""
    from app.reporting.verify_file import verify_report_file

    return verify_report_file(path, trust_roots, ws.report_store, ws.audit, ws.user or None)
