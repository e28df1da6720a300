"""What the worklist shows about reports: status, critical finding, delivery. The workstation hands
:func:`report_flags` to the worklist (``Worklist.marks``), which calls it with the study UIDs it lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from app.reporting.store import ReportStore

CRITICAL_FLAG = "critical"
CRITICAL_UNTOLD_FLAG = "critical-not-communicated"


@dataclass(frozen=True)
class ReportFlags:
    """One study's report summary for a worklist row.

    ``status``: '' (no report), draft, preliminary, final, addended. ``critical``: any report of the study is
    flagged critical; ``communicated``: a notice (who was told) is recorded for every critical report.
    ``delivery``: '' (nothing queued), queued, sending, sent or failed (least advanced row wins)."""

    study_uid: str
    status: str
    critical: bool
    critical_text: str
    communicated: bool
    delivery: str
    signed_at: str = ""  # the original report's signature time ('' while unsigned)

    @property
    def flags(self) -> tuple[str, ...]:
        """Short tags in the style of ``StudySummary.flags`` (``critical``, ``critical-not-communicated``)."""
        if not self.critical:
            return ()
        return (CRITICAL_FLAG,) if self.communicated else (CRITICAL_FLAG, CRITICAL_UNTOLD_FLAG)


def report_flags(store: ReportStore, study_uids: Optional[Iterable[str]] = None) -> dict[str, ReportFlags]:
    """Flags for ``study_uids`` (every study with a report when None); studies without a report are left out.
    One query per table: cheap enough to call on every worklist refresh."""
    wanted = None if study_uids is None else sorted(set(study_uids))
    where, args = "", []
    if wanted is not None and len(wanted) <= 500:  # a few rows (one entry changed): let the index pick them
        where, args = f"WHERE r.study_uid IN ({', '.join('?' for _ in wanted)})", wanted
    with store._lock:
        reports = store.db.execute(
            "SELECT r.id, r.study_uid, r.kind, r.state, r.critical, r.critical_text, "
            "(SELECT COUNT(*) FROM critical_notices n WHERE n.report_id = r.id), r.signed_at "
            f"FROM reports r {where} ORDER BY r.kind = 'addendum', r.created_at", args).fetchall()
        ids = [r[0] for r in reports]
        deliveries = store.db.execute("SELECT report_id, state FROM outbox").fetchall() if ids else []
    by_report: dict[str, set[str]] = {}
    for rid, state in deliveries:
        by_report.setdefault(rid, set()).add(state)
    keep = None if wanted is None else set(wanted)
    grouped: dict[str, list[tuple]] = {}
    for row in reports:
        if keep is None or row[1] in keep:
            grouped.setdefault(row[1], []).append(row)
    return {uid: _flags(uid, rows, by_report) for uid, rows in grouped.items()}


def _flags(uid: str, rows: list[tuple], by_report: dict[str, set[str]]) -> ReportFlags:
    if any(r[2] == "addendum" and r[3] == "final" for r in rows):
        status = "addended"
    else:
        status = rows[0][3]
    critical = [r for r in rows if r[4]]
    states: set[str] = set().union(*(by_report.get(r[0], set()) for r in rows))
    delivery = next((s for s in ("failed", "sending", "queued", "sent") if s in states), "")
    return ReportFlags(uid, status, bool(critical), "; ".join(r[5] for r in critical if r[5]),
                       bool(critical) and all(r[6] > 0 for r in critical), delivery, rows[0][7] or "")
