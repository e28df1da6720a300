"""The durable export spool: a table in the audit db, one row per event to deliver (``log.spooling`` on).

Rows are claimed with a lease (several processes of one data dir may run senders: a row leased by one is
skipped by the others), marked sent after the repository accepted the bytes, or released with the error.
Delivery is at-least-once across crashes (a crash between the write and the mark resends that row after
restart); within one run a row is never sent twice. Once sent, the row's clear patient ID is erased.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.audit.log import AuditLog, AuditRecord
from app.audit.sealed import open_patient
from app.clock import utc_iso


@dataclass(frozen=True)
class SpoolStatus:
    """What ``telerad audit export-status`` prints."""

    unsent: int
    sent: int
    oldest_unsent: str | None  # event time
    last_error: str | None
    max_attempts: int


@dataclass(frozen=True)
class Pending:
    """A claimed row: the record and the clear patient ID kept for its message."""

    record: AuditRecord
    patient_id: str | None


def claim(log: AuditLog, owner: str, *, limit: int = 50, lease_s: float = 60.0) -> list[Pending]:
    """Lease up to ``limit`` unsent rows (oldest first) to ``owner``."""
    now = time.time()
    with log._lock:
        conn = log._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                "SELECT seq, patient_id FROM spool WHERE state = 'unsent' AND (lease_until IS NULL OR "
                "lease_until < ? OR lease_owner = ?) ORDER BY seq LIMIT ?", [now, owner, limit]).fetchall()
            conn.executemany("UPDATE spool SET lease_owner = ?, lease_until = ? WHERE seq = ?",
                             [(owner, now + lease_s, seq) for seq, _ in rows])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        patients = dict(rows)
        if not patients:
            return []
        marks = ",".join("?" for _ in patients)
        cursor = conn.execute(f"SELECT * FROM events WHERE seq IN ({marks}) ORDER BY seq", list(patients))
        names = [d[0] for d in cursor.description]
        records = [AuditRecord(**dict(zip(names, row))) for row in cursor.fetchall()]
    return [Pending(r, open_patient(log.path, patients[r.seq])) for r in records]


def mark_sent(log: AuditLog, seqs: list[int]) -> None:
    """The repository has these rows: state sent, clear patient ID erased, lease dropped."""
    if not seqs:
        return
    with log._lock:
        log._conn.executemany(
            "UPDATE spool SET state = 'sent', sent_at = ?, patient_id = NULL, lease_owner = NULL, "
            "lease_until = NULL, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
            [(utc_iso(), seq) for seq in seqs])


def release(log: AuditLog, seqs: list[int], error: str) -> None:
    """Delivery failed: keep the rows unsent (for any sender), count the attempt, remember why."""
    if not seqs:
        return
    with log._lock:
        log._conn.executemany(
            "UPDATE spool SET lease_owner = NULL, lease_until = NULL, attempts = attempts + 1, last_error = ? "
            "WHERE seq = ? AND state = 'unsent'", [(error[:300], seq) for seq in seqs])


def status(log: AuditLog) -> SpoolStatus:
    """Counts of the spool, the oldest unsent event and the last delivery error."""
    with log._lock:
        conn = log._conn
        counts = dict(conn.execute("SELECT state, COUNT(*) FROM spool GROUP BY state").fetchall())
        oldest = conn.execute("SELECT MIN(e.time) FROM spool s JOIN events e ON e.seq = s.seq "
                              "WHERE s.state = 'unsent'").fetchone()[0]
        error = conn.execute("SELECT last_error FROM spool WHERE last_error IS NOT NULL "
                             "ORDER BY seq DESC LIMIT 1").fetchone()
        attempts = conn.execute("SELECT COALESCE(MAX(attempts), 0) FROM spool WHERE state = 'unsent'").fetchone()[0]
    return SpoolStatus(counts.get("unsent", 0), counts.get("sent", 0), oldest, error[0] if error else None,
                       int(attempts))


def erase_patient(log: AuditLog, patient_id: str) -> int:
    """Drop the clear ``patient_id`` from unsent rows (a purge); their messages then carry the salted hash."""
    with log._lock:
        cursor = log._conn.execute("UPDATE spool SET patient_id = NULL WHERE patient_id = ? OR (patient_id IS NOT NULL "
                                   "AND seq IN (SELECT seq FROM events WHERE patient_hash = ?))",
                                   [patient_id, log.patient_hash(patient_id)])
        return cursor.rowcount
