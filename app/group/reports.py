"""Report states on the group worklist: what a reader's signed report says, pushed once, recorded once.

The reader's own report store and outbox deliver the report; the group only records its state (and the
study leaves the queue). A state is keyed by (report, state): a push retried after a lost connection, or
repeated by a later sync, changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.group.queue import event

if TYPE_CHECKING:
    import psycopg

    from app.group.connection import GroupDB

# report state -> the study's group status
STUDY_STATUS = {"preliminary": "preliminary", "final": "final", "addended": "amended"}


@dataclass(frozen=True)
class ReportState:
    report_id: str
    study_uid: str
    state: str  # preliminary | final | addended
    reader: str
    signed_at: str = ""


def record_report_state(db: "GroupDB", state: ReportState, *, retry_for: float | None = None) -> bool:
    """Record ``state``; True if new. The study's claim ends (a preliminary read returns it to the queue
    for the final reader); a final or addended study leaves the queue."""
    if state.state not in STUDY_STATUS:
        raise ValueError(f"unknown report state {state.state!r}")
    return bool(db.run(lambda conn: _record(conn, state), retry_for=retry_for))


def _record(conn: "psycopg.Connection[Any]", s: ReportState) -> bool:
    new = conn.execute("INSERT INTO report_states (report_id, state, study_uid, reader, signed_at) "
                       "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING report_id",
                       (s.report_id, s.state, s.study_uid, s.reader, s.signed_at)).fetchone()
    if new is None:
        return False
    status = STUDY_STATUS[s.state]
    conn.execute(
        "UPDATE studies SET report_state = %s, status = CASE WHEN status = 'amended' THEN status ELSE %s END, "
        "read_by = CASE WHEN %s = 'preliminary' THEN read_by ELSE %s END, claimed_by = NULL, claim_token = NULL, "
        "lease_until = NULL, updated_at = now() WHERE study_uid = %s",
        (s.state, status, s.state, s.reader, s.study_uid))
    event(conn, s.study_uid, s.reader, "report", report_id=s.report_id, state=s.state, signed_at=s.signed_at)
    return True


def report_states(db: "GroupDB", study_uid: str) -> list[ReportState]:
    rows = db.run(lambda conn: conn.execute(
        "SELECT report_id, study_uid, state, reader, signed_at FROM report_states WHERE study_uid = %s "
        "ORDER BY recorded_at, state", (study_uid,)).fetchall())
    return [ReportState(*r) for r in rows]
