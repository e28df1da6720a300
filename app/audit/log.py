"""Append-only, hash-chained audit log in its own SQLite file.

Each record's ``hash`` is sha256 over the canonical JSON of the record (all fields except
``hash``, including ``prev_hash``), so editing, inserting or removing a row in the middle
breaks :meth:`AuditLog.verify`. Triggers refuse UPDATE and DELETE. Patient IDs are stored
only as a salted sha256 (salt kept in the log's ``meta`` table).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from app.audit.events import ACTIONS, EVENTS, OUTCOMES, AuditEvent
from app.clock import utc_iso
from app.config import private_dir, user_name
from app.audit.sealed import seal_patient
from app.db import SchemaTooNewError, open_database

GENESIS = "0" * 64
# v1: the tables of the first (unversioned) audit logs; IF NOT EXISTS lets such a file migrate in place.
_V1 = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY, time TEXT NOT NULL, event_id TEXT NOT NULL, event_name TEXT NOT NULL,
        event_type TEXT, action TEXT NOT NULL, outcome INTEGER NOT NULL, user TEXT NOT NULL,
        host TEXT NOT NULL, study_uid TEXT, patient_hash TEXT, detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS meta_no_update BEFORE UPDATE ON meta
        BEGIN SELECT RAISE(ABORT, 'audit meta is write-once'); END""",
]


def _v1(db: sqlite_utils.Database) -> None:
    for statement in _V1:
        db.execute(statement)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('patient_salt', ?)", [secrets.token_hex(16)])


def _v2(db: sqlite_utils.Database) -> None:
    """The export spool (``app.audit.spool``): one row per event to send to the audit repository; not part of
    the chain (rows change state). ``patient_id`` is kept in clear only until the message is sent."""
    db.execute("""CREATE TABLE IF NOT EXISTS spool (
        seq INTEGER PRIMARY KEY REFERENCES events(seq), state TEXT NOT NULL DEFAULT 'unsent',
        patient_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, lease_owner TEXT,
        lease_until REAL, sent_at TEXT)""")
    db.execute("CREATE INDEX IF NOT EXISTS spool_state ON spool (state, seq)")


MIGRATIONS = (_v1, _v2)  # append; never edit a shipped step
SCHEMA_VERSION = len(MIGRATIONS)


class AuditSchemaError(SchemaTooNewError):
    """The audit log was written by a newer version of the application."""


@dataclass(frozen=True)
class AuditRecord:
    """One audit event as stored."""

    seq: int
    time: str
    event_id: str
    event_name: str
    event_type: str | None
    action: str
    outcome: int
    user: str
    host: str
    study_uid: str | None
    patient_hash: str | None
    detail: str  # canonical JSON
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of every field but ``hash``."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


class AuditLog:
    """Thread-safe appender/verifier; several processes may append (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)
        self._lock = threading.Lock()
        # plaintext even in an encrypted data folder: it opens before any sign-in (failed attempts are audited)
        # and holds no PHI but the spool's patient IDs, which are sealed with the data keys (app.audit.spool)
        self.db = open_database(self.path, MIGRATIONS, label="audit log", too_new=AuditSchemaError, encrypt=False)
        self._conn = self.db.conn
        self._salt = self._conn.execute("SELECT value FROM meta WHERE key = 'patient_salt'").fetchone()[0]
        self.spooling = False  # True: every new event also gets a row in the export spool (same transaction)
        self.on_record: Callable[[AuditRecord], None] | None = None  # e.g. wakes the export sender

    def patient_hash(self, patient_id: str | None) -> str | None:
        """Salted sha256 of a patient ID (None for none/empty)."""
        if not patient_id:
            return None
        return hashlib.sha256(f"{self._salt}\x1f{patient_id}".encode("utf-8")).hexdigest()

    def record(
        self,
        event: AuditEvent | str,
        *,
        action: str,
        outcome: int = 0,
        study_uid: str | None = None,
        patient_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        event_type: AuditEvent | None = None,
        user: str | None = None,
        host: str | None = None,
    ) -> AuditRecord:
        """Append one event and return it (with its seq and hash)."""
        event = EVENTS[event] if isinstance(event, str) else event
        if action not in ACTIONS or outcome not in OUTCOMES:
            raise ValueError("action must be one of C/R/U/D/E and outcome one of 0/4/8/12")
        fields: dict[str, Any] = {
            "time": utc_iso(),
            "event_id": event.code, "event_name": event.name,
            "event_type": event_type.code if event_type else None,
            "action": action, "outcome": outcome,
            "user": user or user_name(), "host": host or socket.gethostname(),
            "study_uid": study_uid, "patient_hash": self.patient_hash(patient_id),
            "detail": canonical_json(dict(detail or {})),
        }
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                last = self._conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
                fields["seq"], fields["prev_hash"] = (last[0] + 1, last[1]) if last else (1, GENESIS)
                fields["hash"] = record_hash(fields)
                names = ", ".join(fields)
                marks = ", ".join("?" for _ in fields)
                self._conn.execute(f"INSERT INTO events ({names}) VALUES ({marks})", list(fields.values()))
                if self.spooling:
                    self._conn.execute("INSERT INTO spool (seq, patient_id) VALUES (?, ?)",
                                       [fields["seq"], seal_patient(self.path, patient_id)])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        rec = AuditRecord(**fields)
        if self.on_record is not None:
            self.on_record(rec)
        return rec

    def records(self) -> list[AuditRecord]:
        """Every record in sequence order."""
        with self._lock:
            cursor = self._conn.execute("SELECT * FROM events ORDER BY seq")
            names = [d[0] for d in cursor.description]
            return [AuditRecord(**dict(zip(names, row))) for row in cursor.fetchall()]

    def verify(self) -> tuple[bool, int | None]:
        """(True, None) if the chain is intact, else (False, first bad seq)."""
        previous, expected_seq = GENESIS, 1
        for rec in self.records():
            fields = asdict(rec)
            if rec.seq != expected_seq or rec.prev_hash != previous or record_hash(fields) != rec.hash:
                return False, rec.seq
            previous, expected_seq = rec.hash, rec.seq + 1
        return True, None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
