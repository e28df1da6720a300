"""Report use cases: draft, critical finding, who was told, sign, addendum; each leaves the worklist right."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Mapping, Optional

from app.tasks import ProgressFn
from app.workstation.reading import follow_report

if TYPE_CHECKING:
    from app.reporting.model import CriticalNotice, Report
    from app.reporting.signing import SigningIdentity
    from app.reporting.workflow import SignedReport
    from app.workstation.workstation import Workstation


def draft(ws: "Workstation", study_uid: str, template_id: Optional[str] = None,
          sections: Optional[Mapping[str, str]] = None) -> "Report":
    """The study's open draft (created from the cache and a template if none exists), ``sections`` applied."""
    from app.reporting.service import draft_for_study

    report = draft_for_study(ws.reporting(), study_uid, template_id, sections)
    ws.worklist.remark(study_uid)
    return report


def open_report(ws: "Workstation", study_uid: str, *, create: bool = True) -> "Optional[Report]":
    """The report to show for a study: the open one, else the newest signed one, else (``create``) a new
    draft; signed objects that a crash kept out of the cache are stored first."""
    from app.reporting.service import current_report, publish_study

    ctx = ws.reporting()
    publish_study(ctx, study_uid)
    found = current_report(ctx.store, study_uid)
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
         progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> "SignedReport":
    """Sign: state, outputs and outbox rows in one transaction (the report store), objects into the cache,
    audit; then the study becomes final (an original) or amended (an addendum) on the worklist."""
    from app.reporting import service
    from app.reporting.model import ReportKind

    result = service.sign(ws.reporting(), report_id, identity, node, progress=progress, cancel=cancel)
    follow_report(ws, result.report.study.study_uid, addendum_signed=result.report.kind == ReportKind.ADDENDUM)
    return result


def start_addendum(ws: "Workstation", study_uid: str, note: str = "",
                   sections: Optional[Mapping[str, str]] = None) -> "Report":
    """A draft addendum to the study's signed report (the study turns amended when it is signed)."""
    from app.reporting import service

    report = service.start_addendum(ws.reporting(with_cache=False), study_uid, note, sections)
    ws.worklist.remark(study_uid)
    return report
