"""The AI results store: ``<data dir>/ai.sqlite`` (app.db, FULL sync, ordered migrations): every SR/SEG object
looked at (so each is read once), the findings they name, and the radiologist's decision per study and finding."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable, Optional

import sqlite_utils

from app.ai.model import AiFinding, AiObject, Decision
from app.clock import utc_iso
from app.db import SchemaTooNewError, open_database, transaction

FILE_NAME = "ai.sqlite"


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE objects (
        sop_uid TEXT PRIMARY KEY, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT '', algorithm TEXT NOT NULL DEFAULT '', received TEXT NOT NULL,
        seen_at TEXT NOT NULL, warning TEXT NOT NULL DEFAULT '', refs TEXT NOT NULL DEFAULT '')""")
    db.execute("CREATE INDEX idx_objects_study ON objects(study_uid)")
    db.execute("""CREATE TABLE findings (
        id INTEGER PRIMARY KEY, sop_uid TEXT NOT NULL REFERENCES objects(sop_uid) ON DELETE CASCADE,
        study_uid TEXT NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL, scheme TEXT NOT NULL DEFAULT '',
        value TEXT NOT NULL DEFAULT '', meaning TEXT NOT NULL DEFAULT '', presence TEXT NOT NULL,
        critical INTEGER NOT NULL DEFAULT 0)""")
    db.execute("CREATE INDEX idx_findings_study ON findings(study_uid)")
    db.execute("CREATE TABLE scan_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("""CREATE TABLE decisions (
        study_uid TEXT NOT NULL, finding TEXT NOT NULL, decision TEXT NOT NULL, user TEXT NOT NULL,
        decided_at TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', PRIMARY KEY (study_uid, finding))""")


MIGRATIONS = (_v1,)  # append; never edit a shipped step


class AiSchemaError(SchemaTooNewError):
    """ai.sqlite was written by a newer version of the application."""


def ai_db_path(home: Path) -> Path:
    return Path(home) / FILE_NAME


class AiStore:
    """Thread-safe repository of AI results and decisions; methods take and return plain values."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.db = open_database(self.path, MIGRATIONS, label="AI results store", too_new=AiSchemaError)

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    # -- writes --------------------------------------------------------------------------------
    def put_object(self, obj: AiObject, received: str = "") -> None:
        """Record one object looked at (its findings replace any recorded before)."""
        now = utc_iso()
        row = {"sop_uid": obj.sop_uid, "study_uid": obj.study_uid, "series_uid": obj.series_uid, "kind": obj.kind,
               "algorithm": obj.algorithm, "received": received or now, "seen_at": now, "warning": obj.warning,
               "refs": "\\".join(obj.references)}
        with self._lock, transaction(self.db):
            self.db["findings"].delete_where("sop_uid = ?", [obj.sop_uid])
            self.db["objects"].upsert(row, pk="sop_uid")
            self.db["findings"].insert_all(
                [{"sop_uid": obj.sop_uid, "study_uid": obj.study_uid, "key": f.key, "label": f.label,
                  "scheme": f.scheme, "value": f.value, "meaning": f.meaning, "presence": f.presence,
                  "critical": int(f.critical)} for f in obj.findings])

    def decide(self, study_uid: str, finding: str, decision: Decision, user: str, note: str = "") -> str:
        """Record (or change) the decision on one finding of a study; returns the time recorded."""
        now = utc_iso()
        with self._lock, transaction(self.db):
            if decision is Decision.PENDING:
                self.db["decisions"].delete_where("study_uid = ? AND finding = ?", [study_uid, finding])
            else:
                self.db["decisions"].upsert({"study_uid": study_uid, "finding": finding, "decision": decision.value,
                                             "user": user, "decided_at": now, "note": note},
                                            pk=("study_uid", "finding"))
        return now

    def forget_study(self, study_uid: str) -> None:
        """Drop a study's objects and findings (its decisions stay); the next scan starts over (ids reused)."""
        with self._lock, transaction(self.db):
            for table in ("findings", "objects"):
                self.db[table].delete_where("study_uid = ?", [study_uid])
            self.db["scan_state"].upsert({"key": "instance_mark", "value": 0}, pk="key")

    def scan_mark(self) -> int:
        """The cache index row id up to which every instance has been looked at."""
        with self._lock:
            rows = list(self.db.query("SELECT value FROM scan_state WHERE key = 'instance_mark'"))
        return int(rows[0]["value"]) if rows else 0

    def set_scan_mark(self, value: int) -> None:
        with self._lock, transaction(self.db):
            self.db["scan_state"].upsert({"key": "instance_mark", "value": int(value)}, pk="key")

    # -- reads ---------------------------------------------------------------------------------
    def known_sops(self) -> set[str]:
        with self._lock:
            return {r["sop_uid"] for r in self.db.query("SELECT sop_uid FROM objects")}

    def objects(self, study_uid: str) -> list[dict]:
        with self._lock:
            return list(self.db.query("SELECT * FROM objects WHERE study_uid = ? ORDER BY received, sop_uid",
                                      [study_uid]))

    def findings(self, study_uids: Optional[Iterable[str]] = None) -> dict[str, list[tuple[AiFinding, str]]]:
        """study_uid -> (finding, received time of the first object naming it), for studies with findings."""
        sql = ("SELECT f.*, o.received FROM findings f JOIN objects o ON o.sop_uid = f.sop_uid "
               "{where} ORDER BY o.received, f.id")
        with self._lock:
            if study_uids is None:
                rows = list(self.db.query(sql.format(where="")))
            else:
                uids = list(dict.fromkeys(study_uids))
                rows = [r for chunk in range(0, len(uids), 500) for r in self.db.query(
                    sql.format(where=f"WHERE f.study_uid IN ({','.join('?' * len(uids[chunk:chunk + 500]))})"),
                    uids[chunk:chunk + 500])]
        out: dict[str, list[tuple[AiFinding, str]]] = {}
        for r in rows:
            f = AiFinding(r["key"], r["label"], r["scheme"], r["value"], r["meaning"], r["presence"], bool(r["critical"]))
            out.setdefault(r["study_uid"], []).append((f, r["received"]))
        return out

    def decisions(self, study_uids: Optional[Iterable[str]] = None) -> dict[str, dict[str, dict]]:
        """study_uid -> finding key (or label) -> {decision, user, decided_at, note}."""
        with self._lock:
            rows = list(self.db.query("SELECT * FROM decisions"))
        wanted = None if study_uids is None else set(study_uids)
        out: dict[str, dict[str, dict]] = {}
        for r in rows:
            if wanted is None or r["study_uid"] in wanted:
                out.setdefault(r["study_uid"], {})[r["finding"]] = r
        return out

    def warnings(self, study_uid: Optional[str] = None) -> list[dict]:
        with self._lock:
            where, args = ("AND study_uid = ?", [study_uid]) if study_uid else ("", [])
            return list(self.db.query(f"SELECT * FROM objects WHERE warning != '' {where} ORDER BY seen_at", args))
