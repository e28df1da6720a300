"""Audit records for reporting (PS3.15 A.5.3), written to the hash-chained log in ``app.audit``.

Event choices:
- **signing** -> 110103 *DICOM Instances Accessed*, action **C** (create): signing creates the SR and the
  Encapsulated PDF instances; ``detail.what = "report signed"`` with report id, kind, content hash,
  SOP Instance UIDs, critical flag and the chosen destination.
- **sending** a report object -> 110106 *Export*, action **R** (PS3.15 A.5.3.5), one record per attempt,
  outcome 0 (sent) or 8 (failed, with the reason); ``detail`` names node, transport and SOP Instance UID.
- **critical findings** (flag set/cleared, communication recorded) -> 110111 *Procedure Record*,
  action **U**; ``detail.what`` is ``critical finding flagged|cleared|communicated``.

Every function accepts ``audit=None`` and never raises (a failed audit write is logged, not fatal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Optional

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.reporting.model import CriticalNotice, Report
    from app.reporting.store import OutputFile



def _record(audit: "AuditLog | None", event: Any, **kw: Any) -> None:
    from app.audit import record_quietly

    record_quietly(audit, event, **kw)


def report_signed(audit: "Optional[AuditLog]", report: "Report", outputs: "Iterable[OutputFile]",
                  destination: Optional[str], user: Optional[str] = None) -> None:
    """110103 / C: a report was signed and its DICOM objects created."""
    from app.audit import events

    _record(audit, events.INSTANCES_ACCESSED, action=events.ACTION_CREATE, user=user,
            study_uid=report.study.study_uid, patient_id=report.study.patient_id or None,
            detail={"what": "report signed", "report_id": report.id, "kind": str(report.kind),
                    "content_hash": report.content_hash, "critical": report.critical,
                    "state": str(report.state), "review": report.review,
                    "instances": {o.role: o.sop_instance_uid for o in outputs if o.sop_instance_uid},
                    "destination": destination})


def report_exported(audit: "Optional[AuditLog]", *, node: str, transport: str, sop_instance_uid: str,
                    study_uid: Optional[str], error: Optional[str] = None, user: Optional[str] = None) -> None:
    """110106 / R: one report object sent (or a failed attempt, outcome 8)."""
    from app.audit import events

    _record(audit, events.EXPORT, action=events.ACTION_READ, user=user, study_uid=study_uid,
            outcome=events.OUTCOME_SERIOUS_FAILURE if error else events.OUTCOME_SUCCESS,
            detail={"what": "report sent", "node": node, "transport": transport,
                    "sop_instance_uid": sop_instance_uid, "error": (error or "")[:300]})


def critical_flagged(audit: "Optional[AuditLog]", report: "Report", critical: bool,
                     user: Optional[str] = None) -> None:
    """110111 / U: the critical-finding flag was set or cleared."""
    from app.audit import events

    _record(audit, events.PROCEDURE_RECORD, action=events.ACTION_UPDATE, user=user,
            study_uid=report.study.study_uid, patient_id=report.study.patient_id or None,
            detail={"what": "critical finding flagged" if critical else "critical finding cleared",
                    "report_id": report.id})


def critical_communicated(audit: "Optional[AuditLog]", report: "Report", notice: "CriticalNotice",
                          user: Optional[str] = None) -> None:
    """110111 / U: who was told about a critical finding, how and when."""
    from app.audit import events

    _record(audit, events.PROCEDURE_RECORD, action=events.ACTION_UPDATE, user=user,
            study_uid=report.study.study_uid, patient_id=report.study.patient_id or None,
            detail={"what": "critical finding communicated", "report_id": report.id,
                    "recipient": notice.recipient, "role": notice.role, "method": notice.method,
                    "communicated_at": notice.communicated_at, "read_back": notice.read_back})
