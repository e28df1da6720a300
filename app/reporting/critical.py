"""Critical results closed loop (ACR practice parameter on communication of diagnostic imaging findings).

A report flagged critical is signed only once the communication is recorded (to whom, role, how, when,
read-back); a critical report whose findings or impression still hold the template's normal text is signed
only when the reader confirms it. The night's critical results list the time from image arrival to the
communication."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping, Optional

from app.reporting.model import CriticalNotice, Report, ReportError
from app.reporting.store import ReportStore

METHODS = ("phone", "in person", "secure message")
_ALIASES = {"telephone": "phone", "call": "phone", "in-person": "in person", "in_person": "in person",
            "person": "in person", "face to face": "in person", "secure-message": "secure message",
            "secure_message": "secure message", "message": "secure message", "secure": "secure message"}
NORMAL_TEXT_SECTIONS = ("findings", "impression")


class CriticalNotCommunicatedError(ReportError):
    """A critical report cannot be signed before the communication is recorded."""


class NormalTextError(ReportError):
    """A critical report still holds the template's normal text (``sections``): sign only when confirmed."""

    def __init__(self, message: str, sections: tuple[str, ...]) -> None:
        super().__init__(message)
        self.sections = sections


def method_of(text: str) -> str:
    """``text`` as one of :data:`METHODS` (aliases such as ``in-person`` accepted); ReportError otherwise."""
    key = " ".join(text.strip().lower().split())
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise ReportError(f"unknown communication method {text!r} (use {', '.join(METHODS)})")
    return key


def communication(recipient: str, method: str, recorded_by: str, *, role: str = "", when: str = "",
                  read_back: bool = False, note: str = "", now: Optional[datetime] = None) -> CriticalNotice:
    """A validated notice: a named recipient, a known method, a time (ISO 8601, default now) not in the future."""
    now = now or datetime.now(timezone.utc)
    if not recipient.strip():
        raise ReportError("name the person the critical result was communicated to")
    try:
        at = datetime.fromisoformat(when) if when else now
    except ValueError:
        raise ReportError(f"not an ISO 8601 time: {when!r}") from None
    at = at if at.tzinfo else at.astimezone()
    if at - now > timedelta(minutes=5):
        raise ReportError("the communication time is in the future")
    at_utc = at.astimezone(timezone.utc).isoformat(timespec="seconds")
    return CriticalNotice(recipient.strip(), method_of(method), at_utc, recorded_by, note.strip(), role.strip(),
                          bool(read_back))


def normal_text_sections(report: Report, defaults: Mapping[str, str]) -> tuple[str, ...]:
    """The findings / impression sections still equal to the template's (non-empty) normal text."""
    def same(key: str) -> bool:
        normal = " ".join((defaults.get(key) or "").split())
        return bool(normal) and " ".join(report.sections.get(key, "").split()) == normal

    return tuple(k for k in NORMAL_TEXT_SECTIONS if same(k))


def check_signable(report: Report, defaults: Mapping[str, str], *, confirm_normal_text: bool = False) -> None:
    """Raise CriticalNotCommunicatedError / NormalTextError when a critical report may not be signed yet;
    ``defaults`` are the normal texts of the report's template."""
    if not report.critical:
        return
    if not any(n.recipient.strip() for n in report.notices):
        raise CriticalNotCommunicatedError(
            "the report is flagged critical: record who was told (to whom, role, how, when, read-back) "
            "before signing")
    normal = normal_text_sections(report, defaults)
    if normal and not confirm_normal_text:
        names = " and ".join(normal)
        raise NormalTextError(f"the report is flagged critical but its {names} still hold the template's "
                              "normal text: confirm to sign it as it is", normal)


@dataclass(frozen=True)
class CriticalResult:
    """One critical result of the list: the report, the images' arrival and the first communication."""

    report_id: str
    study_uid: str
    accession: str
    finding: str
    state: str
    arrival: str  # when the study's first image was received ('' if not cached)
    signed_at: str
    notice: Optional[CriticalNotice]

    @property
    def communicated(self) -> bool:
        return self.notice is not None

    @property
    def minutes_to_communication(self) -> Optional[float]:
        """Minutes from image arrival to the first communication (None when either is unknown)."""
        start, end = _time(self.arrival), _time(self.notice.communicated_at if self.notice else "")
        return None if start is None or end is None else round((end - start).total_seconds() / 60, 1)


def _time(text: str) -> Optional[datetime]:
    try:
        value = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return None if value is None else value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def critical_results(store: ReportStore, since: datetime, arrival: Callable[[str], str]) -> list[CriticalResult]:
    """Critical reports changed or communicated since ``since`` (open loops first, then newest first);
    ``arrival(study_uid)`` gives the study's first-received time."""
    cutoff = since.astimezone(timezone.utc).isoformat(timespec="seconds")
    with store._lock:
        ids = [r[0] for r in store.db.execute(
            "SELECT id FROM reports r WHERE critical = 1 AND (updated_at >= ? OR EXISTS (SELECT 1 FROM "
            "critical_notices n WHERE n.report_id = r.id AND n.recorded_at >= ?))", [cutoff, cutoff]).fetchall()]
    rows = []
    for report in (store.get(i) for i in ids):
        first = min(report.notices, key=lambda n: n.communicated_at) if report.notices else None
        rows.append(CriticalResult(report.id, report.study.study_uid, report.study.accession, report.critical_text,
                                   str(report.state), arrival(report.study.study_uid), report.signed_at, first))
    rows.sort(key=lambda r: r.arrival or r.signed_at, reverse=True)
    return sorted(rows, key=lambda r: r.communicated)  # stable: open loops first, each part newest first
