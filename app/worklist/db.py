"""The worklist's own SQLite file (``<home>/worklist.sqlite``): WAL, ``SCHEMA_VERSION``, ordered migrations.

Holds what the reader changes (status, claims, priority overrides, timestamps, history, rules)
and the request fields read once from each study's header.
"""

from __future__ import annotations

import json
import threading
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable

import sqlite_utils

from app.db import SchemaTooNewError, apply_migrations, open_database, schema_version, transaction

DB_FILENAME = "worklist.sqlite"


def _v1(db: sqlite_utils.Database) -> None:
    db["state"].create({
        "study_uid": str, "status": str, "claimed_by": str, "claimed_at": str, "priority_override": str,
        "arrival": str, "reported_at": str, "status_at": str, "reference": int, "updated_at": str,
    }, pk="study_uid", not_null={"status", "arrival"}, defaults={"status": "unread", "reference": 0})
    db["request_fields"].create({
        "study_uid": str, "found": int, "requested_procedure_priority": str, "study_priority_id": str,
        "patient_age": str, "requesting_service": str, "read_at": str,
    }, pk="study_uid")
    db["history"].create({"id": int, "study_uid": str, "time": str, "user": str, "action": str,
                          "old": str, "new": str}, pk="id", not_null={"study_uid", "time", "action"})
    db["settings"].create({"key": str, "value": str}, pk="key")


def _v2(db: sqlite_utils.Database) -> None:
    db["history"].create_index(["study_uid", "time"])
    db["state"].create_index(["status"])


# MIGRATIONS[i] moves the schema from version i to i + 1. Never edit a shipped step; append.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_v1, _v2)
SCHEMA_VERSION = len(MIGRATIONS)


class Row(tuple):  # type: ignore[type-arg]
    """A read-only row read by column name like a mapping (``get``, ``[name]``, ``keys``), stored as a tuple:
    100,000 state rows kept by the worklist cost a third of as many dicts. Subclasses set ``_columns``."""

    __slots__ = ()
    _columns: dict[str, int] = {}

    def get(self, key: str, default: Any = None) -> Any:
        at = self._columns.get(key)
        return default if at is None else tuple.__getitem__(self, at)

    def __getitem__(self, key: Any) -> Any:
        return tuple.__getitem__(self, self._columns[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self._columns)

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._columns, self))


_ROW_TYPES: dict[tuple[str, ...], type[Row]] = {}


def _row_type(cols: tuple[str, ...]) -> type[Row]:
    """The :class:`Row` subclass for rows with these columns (one per column list)."""
    if cols not in _ROW_TYPES:
        _ROW_TYPES[cols] = type("Row", (Row,), {"__slots__": (), "_columns": {c: i for i, c in enumerate(cols)}})
    return _ROW_TYPES[cols]


class WorklistSchemaError(SchemaTooNewError):
    """The worklist DB was written by a newer version of the application."""


class WorklistDB:
    """Thread-safe access to the worklist database (one connection, one lock)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db: sqlite_utils.Database | None = db
        self.lock = threading.RLock()
        self._states: tuple[tuple[int, int], dict[str, dict[str, Any]]] | None = None  # (version, rows)
        self._state_writes = 0  # writes to the state table through this connection

    @classmethod
    def open(cls, path: Path) -> "WorklistDB":
        """Open (create, migrate) the DB file at ``path``."""
        return cls(open_database(Path(path), MIGRATIONS, label="worklist", too_new=WorklistSchemaError))

    @property
    def db(self) -> sqlite_utils.Database:
        if self._db is None:
            raise RuntimeError("worklist database is closed")
        return self._db

    def close(self) -> None:
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def transaction(self) -> Any:
        """Context manager: one atomic write (nestable)."""
        return transaction(self.db)

    # -- rows -------------------------------------------------------------------------------
    def states(self) -> dict[str, dict[str, Any]]:
        """Every state row by study (read-only :class:`Row` objects: the same dict of the same rows is returned
        while the database is unchanged)."""
        with self.lock:
            version = self._state_version()
            if self._states is None or self._states[0] != version:
                self._states = (version, self._rows_by_uid("SELECT * FROM state", shared=True))
            return self._states[1]

    def _state_version(self) -> tuple[int, int]:
        """Changes whenever the state table may have: commits by other connections, writes through this one
        (every write to ``state`` goes through this class and counts)."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0]), self._state_writes

    def state_uids(self) -> set[str]:
        """Studies that have a state row (seen at least once)."""
        with self.lock:
            return {r[0] for r in self.db.execute("SELECT study_uid FROM state")}

    def _rows_by_uid(self, sql: str, params: list[Any] | None = None, *,
                     shared: bool = False) -> dict[str, dict[str, Any]]:
        """``study_uid`` -> row dict of a ``SELECT *`` (one cursor, no per-row wrapper); ``shared``: compact
        read-only rows (:class:`Row`) whose equal text values (statuses, timestamps of a batch) are one object."""
        cursor = self.db.execute(sql, params or [])
        cols = [d[0] for d in cursor.description]
        at = cols.index("study_uid")
        if shared:
            one, row = {}.setdefault, _row_type(tuple(cols))
            return {r[at]: row([one(v, v) for v in r]) for r in cursor.fetchall()}
        return {r[at]: dict(zip(cols, r)) for r in cursor.fetchall()}

    def state(self, study_uid: str) -> dict[str, Any] | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM state WHERE study_uid = ?", [study_uid]))
        return rows[0] if rows else None

    def put_state(self, study_uid: str, first: dict[str, Any] | None = None, **values: Any) -> None:
        """Update the row of a study; one without a row yet gets ``first`` (the row it was seen with), updated."""
        with self.lock, self.transaction():
            self._state_writes += 1
            if first is not None:
                self._insert_rows("INSERT OR IGNORE", "state", [{**first, "study_uid": study_uid}])
            self.db["state"].update(study_uid, values)

    def insert_states(self, rows: list[dict[str, Any]]) -> None:
        """Add rows for newly seen studies (existing rows are left alone)."""
        if rows:
            with self.lock:
                current = self._states is not None and self._states[0] == self._state_version()
                self._state_writes += 1
                with self.transaction():
                    self._insert_rows("INSERT OR IGNORE", "state", rows)
                if current and not self.db.conn.in_transaction:  # committed: add the new rows to the cache
                    self._add_states([r["study_uid"] for r in rows])

    def _add_states(self, uids: list[str]) -> None:
        """A new cached ``states()`` dict: the last one plus the rows of ``uids`` (read back as stored)."""
        assert self._states is not None
        if self._state_version()[0] != self._states[0][0]:  # another connection committed meanwhile: read all later
            self._states = None
            return
        states = dict(self._states[1])
        for start in range(0, len(uids), 500):
            chunk = uids[start:start + 500]
            states.update(self._rows_by_uid(f"SELECT * FROM state WHERE study_uid IN ({', '.join('?' * len(chunk))})",
                                            chunk, shared=True))
        self._states = (self._state_version(), states)

    def add_history(self, study_uid: str, time: str, user: str, action: str, old: str, new: str) -> None:
        with self.lock:
            self.db["history"].insert({"study_uid": study_uid, "time": time, "user": user, "action": action,
                                       "old": old, "new": new})

    def history(self, study_uid: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.query("SELECT * FROM history WHERE study_uid = ? ORDER BY id", [study_uid]))

    def request_fields(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return self._rows_by_uid("SELECT * FROM request_fields")

    def uids_among(self, table: str, uids: list[str]) -> set[str]:
        """Which of ``uids`` have a row in ``table`` (``state`` or ``request_fields``): a few looked up by key,
        many by reading every key."""
        if table not in ("state", "request_fields"):
            raise ValueError(table)
        with self.lock:
            if len(uids) > 2000:
                return {r[0] for r in self.db.execute(f"SELECT study_uid FROM {table}")} & set(uids)
            found: set[str] = set()
            for start in range(0, len(uids), 500):
                chunk = uids[start:start + 500]
                found.update(r[0] for r in self.db.execute(
                    f"SELECT study_uid FROM {table} WHERE study_uid IN ({', '.join('?' * len(chunk))})", chunk))
            return found

    def request_field_uids(self) -> set[str]:
        with self.lock:
            return {r[0] for r in self.db.execute("SELECT study_uid FROM request_fields")}

    def request_field(self, study_uid: str) -> dict[str, Any] | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM request_fields WHERE study_uid = ?", [study_uid]))
        return rows[0] if rows else None

    def put_request_fields(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.lock, self.transaction():
            self._insert_rows("INSERT OR REPLACE", "request_fields", rows)

    def _insert_rows(self, verb: str, table: str, rows: list[dict[str, Any]]) -> None:
        """One executemany for rows sharing the first row's keys (fixed column names from this module)."""
        cols = list(rows[0])
        sql = f"{verb} INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        keys = rows[0].keys()
        if len(cols) > 1 and all(row.keys() == keys for row in rows):  # the usual case: the same keys
            self.db.conn.executemany(sql, map(itemgetter(*cols), rows))  # tuples built in C
        else:
            self.db.conn.executemany(sql, [[row.get(c) for c in cols] for row in rows])

    def forget(self, study_uid: str) -> None:
        """Drop a study's state and cached header fields (its history stays)."""
        with self.lock, self.transaction():
            self._state_writes += 1
            self.db.execute("DELETE FROM state WHERE study_uid = ?", [study_uid])
            self.db.execute("DELETE FROM request_fields WHERE study_uid = ?", [study_uid])

    # -- settings ---------------------------------------------------------------------------
    def setting(self, key: str, default: Any = None) -> Any:
        with self.lock:
            rows = list(self.db.query("SELECT value FROM settings WHERE key = ?", [key]))
        return json.loads(rows[0]["value"]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.lock:
            self.db["settings"].upsert({"key": key, "value": json.dumps(value)}, pk="key")


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations in order, each in its own transaction; return the version."""
    apply_migrations(db, MIGRATIONS, too_new=WorklistSchemaError, label="worklist")
    return schema_version(db)
