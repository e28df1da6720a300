"""Audit events of the workstation's own use cases (PS3.15 A.5.3) that no service writes:
application start/stop (110100 with 110120/110121), a report draft created (110103 C) and an amendment
started (110103 U). Query, retrieve, import, study opened, signing, report sending, delete and security
alerts are written by the services and use cases that do them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.reporting.model import Report
    from app.workstation.workstation import Workstation


def application(ws: "Workstation", started: bool, what: str) -> None:
    """110100 Application Activity, type Application Start or Stop, action E."""
    from app import __version__
    from app.audit import events, record_quietly

    record_quietly(ws.audit, events.APPLICATION_ACTIVITY, action="E", user=ws.user,
                   event_type=events.APPLICATION_START if started else events.APPLICATION_STOP,
                   detail={"what": what, "version": __version__})


def report_created(ws: "Workstation", report: "Report", *, amendment: bool) -> None:
    """110103 DICOM Instances Accessed: C for a new report draft, U for a new addendum to a signed one."""
    from app.audit import events, record_quietly

    record_quietly(ws.audit, events.INSTANCES_ACCESSED, action="U" if amendment else "C", user=ws.user,
                   study_uid=report.study.study_uid, patient_id=report.study.patient_id or None,
                   detail={"what": "report amendment started" if amendment else "report draft created",
                           "report_id": report.id, "kind": str(report.kind)})
