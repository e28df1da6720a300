"""The separate HL7 critical-result notification (reporting.json ``hl7.critical_notification``).

One ORU^R01 per critical result, sent through the outbox to its own destination when a critical report is
first signed (a preliminary read's notification is not repeated when it is finalised). Same MSH/PID/OBR as
the report's ORU (OBR-25 F, or P for a preliminary read) plus an ORC (ORC-1 ``RE``, ORC-2/3 the accession),
and only these OBX segments:

- TX ``critical^Critical result^L``: the critical finding, OBX-8 the site's abnormal flag (AA or HH);
- TX ``critical_communication^Critical result communication^L``, one per recorded communication (OBX-4 its
  ordinal): "Communicated to <whom> (<role>) by <how>; read back confirmed|not confirmed; recorded by <who>",
  OBX-14 the time of the communication;
- ST ``113014^DICOM Study^DCM``: the Study Instance UID.

MSH-10 is derived from the report id (``<id>:critical``), so a resend after a crash is recognisable.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.reporting.hl7_oru import build_oru, control_id, critical_row, escape, study_row
from app.reporting.model import CriticalNotice, Report

if TYPE_CHECKING:
    from app.reporting.hl7_oru import Row
    from app.reporting.settings import Hl7Destination

COMMUNICATION_CODE = "critical_communication^Critical result communication^L"
CRITICAL_FILE = "critical.hl7"
ROLE = "hl7_critical"


def delivery_key(report_id: str) -> str:
    """Outbox key of a report's critical notification: ``hl7-critical:<report id>`` (one per report)."""
    return f"hl7-critical:{report_id}"


def describe(notice: CriticalNotice) -> str:
    """One line saying who was told, how, whether they read it back and who recorded it."""
    role = f" ({notice.role})" if notice.role else ""
    back = "read back confirmed" if notice.read_back else "read back not confirmed"
    note = f"; {notice.note}" if notice.note else ""
    told = f"Communicated to {notice.recipient}{role} by {notice.method}"
    return f"{told}; {back}; recorded by {notice.recorded_by}{note}"


def _dtm(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y%m%d%H%M%S%z")
    except ValueError:
        return ""


def rows(report: Report, flag: str) -> "list[Row]":
    """The notification's OBX rows: the critical finding, each communication, the study."""
    told = sorted(report.notices, key=lambda n: n.communicated_at)
    return [critical_row(report, flag),
            *[("TX", COMMUNICATION_CODE, str(i), escape(describe(n)), "", _dtm(n.communicated_at))
              for i, n in enumerate(told, start=1)],
            study_row(report)]


def build_notification(report: Report, dest: "Hl7Destination", when: datetime) -> bytes:
    """The notification of a critical ``report`` being signed (``when``); Hl7BuildError as :func:`build_oru`."""
    return build_oru(report, dest, control_id(report.id + ":critical"), when, rows(report, dest.critical_flag),
                     order_control="RE")
