"""The shared queue: publish studies, claim the next case, renew leases, release, hand over, record a read.

"Next case" runs in one transaction: the most urgent queued study (STAT first, then the turnaround clock)
that this reader is credentialed (facility) and licensed (the patient's state) to read, within their
subspecialties and workload cap, taken with ``FOR UPDATE SKIP LOCKED`` so concurrent readers never get the
same row. Same-patient affinity: a reader holding one of a patient's studies gets that patient's other
queued studies first, and no other reader gets them while the lease lives (a per-patient advisory lock
closes the race between two readers claiming two studies of one patient at once). A lease not renewed in
time puts the study back in the queue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Optional

from app.group.connection import GroupError
from app.group.readers import UnknownReader

if TYPE_CHECKING:
    import psycopg

    from app.group.connection import GroupDB

LEASE_SECONDS = 120.0
PATIENT_LOCK_CLASS = 18  # first key of pg_try_advisory_xact_lock(int, int) for patients
ANALYZE_AFTER = 1000  # studies published at once
PRIORITY_RANK = {"STAT": 0, "urgent": 1, "routine": 2}


class ClaimLost(GroupError):
    """The reader does not hold the study (never claimed, released, or taken after the lease expired)."""


@dataclass(frozen=True)
class Published:
    """What one workstation tells the group about a study entering its cache."""

    study_uid: str
    facility: str
    priority: str  # STAT | urgent | routine
    due: datetime
    modality: str = ""
    subspecialty: str = "general"
    patient_key: str = ""  # a hash (see app.workstation.group.patient_hash), never the patient ID
    patient_state: str = ""  # '' : the facility's state (facilities table)
    arrival: Optional[datetime] = None  # when the study arrived (the turnaround clock's start)


@dataclass(frozen=True)
class Claim:
    study_uid: str
    reader: str
    facility: str
    priority: str
    due: datetime
    lease_until: datetime


@dataclass(frozen=True)
class NextResult:
    """The claimed study, or none and why: ``empty`` (nothing this reader may read is queued) or ``cap``."""

    claim: Optional[Claim]
    reason: str = ""


_UPSERT = """
INSERT INTO studies (study_uid, facility, patient_key, patient_state, modality, subspecialty, priority,
                     priority_rank, due, published_by, arrival)
VALUES (%s, %s, %s, coalesce(nullif(%s, ''), (SELECT state FROM facilities WHERE name = %s), ''),
        %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (study_uid) DO UPDATE SET
  facility = EXCLUDED.facility, patient_key = EXCLUDED.patient_key, modality = EXCLUDED.modality,
  patient_state = CASE WHEN EXCLUDED.patient_state <> '' THEN EXCLUDED.patient_state
                       ELSE studies.patient_state END,
  subspecialty = EXCLUDED.subspecialty, priority = EXCLUDED.priority, priority_rank = EXCLUDED.priority_rank,
  due = EXCLUDED.due, arrival = coalesce(studies.arrival, EXCLUDED.arrival), updated_at = now()
WHERE (studies.facility, studies.patient_key, studies.modality, studies.subspecialty, studies.priority,
       studies.due, studies.patient_state)
  IS DISTINCT FROM (EXCLUDED.facility, EXCLUDED.patient_key, EXCLUDED.modality, EXCLUDED.subspecialty,
                    EXCLUDED.priority, EXCLUDED.due,
                    CASE WHEN EXCLUDED.patient_state <> '' THEN EXCLUDED.patient_state
                         ELSE studies.patient_state END)
  OR (studies.arrival IS NULL AND EXCLUDED.arrival IS NOT NULL)  -- the first arrival published stands
"""


def publish(db: "GroupDB", studies: Iterable[Published], publisher: str) -> int:
    """Add or update studies on the group worklist (their reading state is the group's: left as it is)."""
    rows = [(s.study_uid, s.facility, s.patient_key, s.patient_state.strip().upper(), s.facility, s.modality,
             s.subspecialty or "general", s.priority, PRIORITY_RANK[s.priority], s.due, publisher, s.arrival)
            for s in studies]
    if not rows:
        return 0

    def work(conn: "psycopg.Connection[Any]") -> None:
        with conn.cursor() as cur:
            cur.executemany(_UPSERT, rows)

    db.run(work)
    if len(rows) >= ANALYZE_AFTER:  # fresh statistics now: the queue's plan must walk its index, not sort
        db.run(lambda conn: conn.execute("ANALYZE studies"), transaction=False)
    return len(rows)


# the queue's eligibility rule, in PL/pgSQL (schema.NEXT_CASE_FUNCTION): one round trip per claim
ELIGIBLE = """
  s.status IN ('unread', 'in_progress') AND (s.claimed_by IS NULL OR s.lease_until < now())
  AND EXISTS (SELECT 1 FROM reader_facilities f WHERE f.reader = p_reader AND f.facility = s.facility)
  AND EXISTS (SELECT 1 FROM reader_licenses l WHERE l.reader = p_reader AND l.state = s.patient_state)
  AND (NOT v_subs OR s.subspecialty = 'general' OR EXISTS (
       SELECT 1 FROM reader_subspecialties x WHERE x.reader = p_reader AND x.subspecialty = s.subspecialty))
  AND (s.patient_key = '' OR NOT EXISTS (
       SELECT 1 FROM studies o WHERE o.patient_key = s.patient_key AND o.status IN ('unread', 'in_progress')
       AND o.claimed_by <> p_reader AND o.lease_until > now()))
  AND NOT (s.study_uid = ANY(v_skip))
  AND (NOT v_rules OR NOT EXISTS (SELECT 1 FROM assignment_rules r WHERE @MATCH@) OR EXISTS (
       SELECT 1 FROM assignment_rules r JOIN assignment_rule_readers rr ON rr.rule = r.name AND rr.reader = p_reader
       WHERE @MATCH@))
"""
READING_ORDER = "ORDER BY s.queue_rank, s.due, s.priority_rank, s.study_uid LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
_RETURNING = "study_uid, claimed_by, facility, priority, due, lease_until"


def event(conn: "psycopg.Connection[Any]", study_uid: str, actor: str, action: str, **detail: Any) -> None:
    from psycopg.types.json import Jsonb

    conn.execute("INSERT INTO study_events (study_uid, actor, action, detail) VALUES (%s, %s, %s, %s)",
                 (study_uid, actor, action, Jsonb(detail)))


def next_case(db: "GroupDB", reader: str, *, lease: float = LEASE_SECONDS, token: str | None = None) -> NextResult:
    """Claim the most urgent study ``reader`` may read (see the module docstring) in one statement (the
    function ``group_next_case``); retried after a lost connection without claiming twice (``token``)."""
    import psycopg

    token = token or uuid.uuid4().hex

    def work(conn: "psycopg.Connection[Any]") -> NextResult:
        try:
            row = conn.execute("SELECT * FROM group_next_case(%s, %s, %s)", (reader, lease, token)).fetchone()
        except psycopg.errors.RaiseException as exc:
            raise UnknownReader(f"no active reader {reader!r} in the group (telerad readers add {reader} ...)") \
                from exc
        assert row is not None
        return NextResult(Claim(*row[:6])) if row[0] is not None else NextResult(None, row[6])

    return db.run(work, transaction=False)


def renew(db: "GroupDB", reader: str, *, lease: float = LEASE_SECONDS, retry_for: Optional[float] = None) -> list[str]:
    """Extend every lease ``reader`` holds (also one that expired while no one took the study)."""
    rows = db.run(lambda conn: conn.execute(
        "UPDATE studies SET lease_until = now() + make_interval(secs => %s) WHERE claimed_by = %s "
        "AND status = 'in_progress' RETURNING study_uid", (lease, reader)).fetchall(), retry_for=retry_for,
        transaction=False)
    return [uid for (uid,) in rows]


def held(db: "GroupDB", reader: str) -> list[Claim]:
    """The studies ``reader`` holds now (live leases)."""
    rows = db.run(lambda conn: conn.execute(
        f"SELECT {_RETURNING} FROM studies WHERE claimed_by = %s AND status = 'in_progress' "
        "AND lease_until > now() ORDER BY claimed_at", (reader,)).fetchall())
    return [Claim(*r) for r in rows]


def release(db: "GroupDB", reader: str, study_uid: str) -> Claim:
    """Give a claim back: the study returns to the queue (ClaimLost if ``reader`` does not hold it)."""
    def work(conn: "psycopg.Connection[Any]") -> Claim:
        row = conn.execute(
            "UPDATE studies SET status = 'unread', claimed_by = NULL, claim_token = NULL, claimed_at = NULL, "
            f"lease_until = NULL, updated_at = now() WHERE study_uid = %s AND claimed_by = %s "
            f"AND status = 'in_progress' RETURNING {_RETURNING}", (study_uid, reader)).fetchone()
        if row is None:
            raise ClaimLost(f"{reader} does not hold study {study_uid}")
        event(conn, study_uid, reader, "released")
        return Claim(study_uid, reader, *row[2:])

    return db.run(work)


def handover(db: "GroupDB", reader: str, study_uid: str, colleague: str, *, lease: float = LEASE_SECONDS) -> Claim:
    """Pass a claim to a colleague credentialed and licensed for the study; their lease starts now."""
    def work(conn: "psycopg.Connection[Any]") -> Claim:
        row = conn.execute("SELECT facility, patient_state FROM studies WHERE study_uid = %s AND claimed_by = %s "
                           "AND status = 'in_progress' FOR UPDATE", (study_uid, reader)).fetchone()
        if row is None:
            raise ClaimLost(f"{reader} does not hold study {study_uid}")
        _check_may_read(conn, colleague, *row)
        claim = conn.execute(
            "UPDATE studies SET claimed_by = %s, claim_token = NULL, claimed_at = now(), "
            "lease_until = now() + make_interval(secs => %s), updated_at = now() WHERE study_uid = %s "
            f"RETURNING {_RETURNING}", (colleague, lease, study_uid)).fetchone()
        event(conn, study_uid, reader, "handed_over", to=colleague)
        return Claim(*claim)

    return db.run(work)


def _check_may_read(conn: "psycopg.Connection[Any]", reader: str, facility: str, state: str) -> None:
    ok = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM reader_facilities WHERE reader = %(r)s AND facility = %(f)s), "
        "EXISTS (SELECT 1 FROM reader_licenses WHERE reader = %(r)s AND state = %(s)s) "
        "FROM readers WHERE name = %(r)s AND active", {"r": reader, "f": facility, "s": state}).fetchone()
    if ok is None:
        raise UnknownReader(f"no active reader {reader!r} in the group")
    if not ok[0]:
        raise GroupError(f"{reader} is not credentialed at {facility}")
    if not ok[1]:
        raise GroupError(f"{reader} is not licensed in {state or 'the patient state (unknown)'}")


_COMPLETE = """
WITH done AS (
  UPDATE studies SET status = %(status)s, read_by = %(reader)s, claimed_by = NULL, claim_token = NULL,
    lease_until = NULL, updated_at = now()
  WHERE study_uid = %(uid)s AND claimed_by = %(reader)s AND status = 'in_progress' RETURNING study_uid),
logged AS (
  INSERT INTO study_events (study_uid, actor, action, detail)
  SELECT study_uid, %(reader)s, 'read', jsonb_build_object('status', %(status)s::text) FROM done)
SELECT (SELECT count(*) FROM done),
       EXISTS (SELECT 1 FROM studies WHERE study_uid = %(uid)s AND read_by = %(reader)s AND status = %(status)s)
"""


def complete(db: "GroupDB", reader: str, study_uid: str, status: str = "final") -> None:
    """Record that ``reader`` read the study they hold (idempotent: done twice, recorded once)."""
    def work(conn: "psycopg.Connection[Any]") -> None:
        row = conn.execute(_COMPLETE, {"status": status, "reader": reader, "uid": study_uid}).fetchone()
        if row is None or not (row[0] or row[1]):
            raise ClaimLost(f"{reader} does not hold study {study_uid}")

    db.run(work, transaction=False)


def history(db: "GroupDB", study_uid: str) -> list[dict[str, Any]]:
    rows = db.run(lambda conn: conn.execute(
        "SELECT at, actor, action, detail FROM study_events WHERE study_uid = %s ORDER BY id",
        (study_uid,)).fetchall())
    return [{"at": at.isoformat(), "actor": actor, "action": action, **detail} for at, actor, action, detail in rows]
