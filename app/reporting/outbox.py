"""Durable delivery queue keyed by SOP Instance UID: queued -> sending -> sent, or failed (retried)."""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional

import sqlite_utils

from app.clock import utc_iso as _now_iso
from app.reporting.killpoints import killpoint
from app.reporting.schema import transaction
from app.tasks import check_cancel, report

if TYPE_CHECKING:
    from app.audit import AuditLog

log = logging.getLogger(__name__)

SendFn = Callable[[str, str], None]
"""``send(path, node)``: deliver one DICOM file to a node; raise on failure (networking plugs in here)."""


@dataclass(frozen=True)
class Delivery:
    """One file to deliver: its SOP Instance UID (the queue key), its path and the destination node name."""

    sop_instance_uid: str
    path: str
    node: str


@dataclass(frozen=True)
class OutboxItem:
    """A queue row as stored."""

    sop_instance_uid: str
    report_id: str
    path: str
    node: str
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: ``base * 2**(n-1)`` capped, scaled by a random factor in [0.5, 1)."""

    base_s: float = 5.0
    cap_s: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return ceiling * (0.5 + rng.random() / 2)


def enqueue(db: sqlite_utils.Database, report_id: str, deliveries: Iterable[Delivery]) -> None:
    """Insert queued rows; call inside the caller's transaction (the one that finalises the report)."""
    now = _now_iso()
    for d in deliveries:
        db["outbox"].insert({
            "sop_instance_uid": d.sop_instance_uid, "report_id": report_id, "path": d.path, "node": d.node,
            "state": "queued", "attempts": 0, "next_attempt_at": 0.0, "last_error": "", "created_at": now,
            "updated_at": now})


REFUSED_AT = 1e18
"""``next_attempt_at`` of a row refused by the integrity check: failed, never retried by itself."""


class Outbox:
    """Processes the queue with an injected ``send``; safe to kill at any point (a lease re-queues).
    Before each send the file is checked against the SHA-256 recorded when it was signed: a missing,
    unrecorded or changed file is never sent (the row fails for good, with a Security Alert in ``audit``)."""

    def __init__(self, db: sqlite_utils.Database, send: SendFn, backoff: Backoff = Backoff(),
                 lease_s: float = 300.0, rng: Optional[random.Random] = None,
                 clock: Callable[[], float] = time.time, lock: Optional[threading.RLock] = None,
                 audit: "Optional[AuditLog]" = None, user: Optional[str] = None) -> None:
        self.db, self.send, self.backoff, self.lease_s = db, send, backoff, lease_s
        self.rng = rng or random.Random()
        self.clock = clock
        self._lock = lock or threading.RLock()
        self.audit, self.user = audit, user

    def items(self, report_id: Optional[str] = None) -> list[OutboxItem]:
        """All rows (or a report's rows), oldest first."""
        where, args = ("report_id = ?", [report_id]) if report_id else (None, None)
        with self._lock:
            rows = self.db["outbox"].rows_where(where, args, order_by="created_at, sop_instance_uid")
            return [OutboxItem(r["sop_instance_uid"], r["report_id"] or "", r["path"], r["node"], r["state"],
                               r["attempts"], r["next_attempt_at"], r["last_error"] or "") for r in rows]

    def _claim(self, now: float, due_by: Optional[float] = None) -> Optional[OutboxItem]:
        """Atomically take the next row due by ``due_by`` (default ``now``): queued, failed past its backoff,
        or sending past its lease."""
        with self._lock, transaction(self.db):
            row = self.db.execute(
                "SELECT sop_instance_uid FROM outbox WHERE state IN ('queued', 'failed', 'sending') "
                "AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT 1",
                [now if due_by is None else due_by]).fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE outbox SET state = 'sending', next_attempt_at = ?, updated_at = ? "
                            "WHERE sop_instance_uid = ?", [now + self.lease_s, _now_iso(), row[0]])
        return next(i for i in self.items() if i.sop_instance_uid == row[0])

    def _finish(self, item: OutboxItem, error: Optional[str], now: float) -> None:
        with self._lock, transaction(self.db):
            if error is None:
                self.db.execute("UPDATE outbox SET state = 'sent', last_error = '', updated_at = ? "
                                "WHERE sop_instance_uid = ?", [_now_iso(), item.sop_instance_uid])
                return
            attempts = item.attempts + 1
            retry_at = now + self.backoff.delay(attempts, self.rng)
            self.db.execute("UPDATE outbox SET state = 'failed', attempts = ?, next_attempt_at = ?, last_error = ?, "
                            "updated_at = ? WHERE sop_instance_uid = ?",
                            [attempts, retry_at, error[:500], _now_iso(), item.sop_instance_uid])

    def _integrity_problem(self, item: OutboxItem) -> Optional[str]:
        """Why ``item``'s file must not be sent (None if it is the signed file, unchanged)."""
        from app.reporting.integrity import alert, problem, recorded_output

        with self._lock:
            record = recorded_output(self.db, item.path)
        found = "not a recorded signed report file" if record is None else problem(Path(item.path), record[2])
        if found is not None:
            log.error("outbox: refused to send %s: integrity check failed", item.sop_instance_uid)
            alert(self.audit, path=item.path, role=record[1] if record else "", report_id=item.report_id,
                  reason=found, action="send", user=self.user)
        return found

    def _refuse(self, item: OutboxItem, reason: str) -> None:
        with self._lock, transaction(self.db):
            self.db.execute("UPDATE outbox SET state = 'failed', attempts = attempts + 1, next_attempt_at = ?, "
                            "last_error = ?, updated_at = ? WHERE sop_instance_uid = ?",
                            [REFUSED_AT, f"refused, not sent: integrity check failed: {reason}"[:500], _now_iso(),
                             item.sop_instance_uid])

    def process_due(self, cancel: Optional[threading.Event] = None,
                    progress: Optional[Callable] = None) -> int:
        """Send every row due when the call starts, once (a row failing now waits for the next call); return
        how many were sent successfully. Progress counts attempts (sent or failed) against the due rows."""
        sent = tried = 0
        start = self.clock()
        total = self.due_count(start)
        while True:
            check_cancel(cancel)
            item = self._claim(self.clock(), due_by=start)
            if item is None:
                return sent
            tried += 1
            refused = self._integrity_problem(item)
            if refused is not None:
                self._refuse(item, refused)
                report(progress, tried, max(total, tried), "refused")
                continue
            killpoint("outbox_before_send")
            try:
                self.send(item.path, item.node)
            except Exception as exc:  # any failure is recorded and retried later
                # the type only: a peer's error text (e.g. a RIS's ACK message) may echo patient data
                log.warning("outbox: sending %s failed (%s); retried later", item.sop_instance_uid, type(exc).__name__)
                log.debug("outbox: %s: %s", item.sop_instance_uid, exc)
                self._finish(item, f"{type(exc).__name__}: {exc}", self.clock())
                report(progress, tried, max(total, tried), "failed")
                continue
            killpoint("outbox_after_send")
            self._finish(item, None, self.clock())
            sent += 1
            report(progress, tried, max(total, tried), "sent")

    def recover_orphans(self) -> int:
        """Re-queue rows left 'sending' by a dead process (call only while holding the runner lock, see
        :mod:`app.reporting.runner`): they are resent at once; the peer treats an identical resend as a no-op."""
        with self._lock, transaction(self.db):
            cur = self.db.execute("UPDATE outbox SET state = 'queued', next_attempt_at = 0, "
                                  "last_error = 'interrupted while sending; resending', updated_at = ? "
                                  "WHERE state = 'sending'", [_now_iso()])
            return int(cur.rowcount)

    def due_count(self, now: Optional[float] = None) -> int:
        """Rows that :meth:`process_due` would take now."""
        when = self.clock() if now is None else now
        with self._lock:
            row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'failed', 'sending') "
                                  "AND next_attempt_at <= ?", [when]).fetchone()
        return int(row[0])

    def next_due_at(self) -> Optional[float]:
        """When the earliest unsent row becomes due (None if every row is sent or refused)."""
        with self._lock:
            row = self.db.execute("SELECT MIN(next_attempt_at) FROM outbox WHERE state != 'sent' "
                                  "AND next_attempt_at < ?", [REFUSED_AT]).fetchone()
        return None if row[0] is None else float(row[0])

    def retry_now(self, sop_instance_uid: str) -> None:
        """Make a failed row due immediately (user pressed retry)."""
        with self._lock, transaction(self.db):
            self.db.execute("UPDATE outbox SET next_attempt_at = 0 WHERE sop_instance_uid = ? AND state = 'failed'",
                            [sop_instance_uid])

    def report_state(self, report_id: str) -> str:
        """Delivery state of a report: '' (nothing queued), or the least advanced of its rows' states."""
        states = {i.state for i in self.items(report_id)}
        for state in ("failed", "sending", "queued", "sent"):
            if state in states:
                return state
        return ""
