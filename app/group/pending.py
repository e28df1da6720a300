"""Report states the group has not acknowledged yet, kept in a local SQLite file (``group.sqlite``).

A signed report's state is written here first (``FULL`` sync, like every medico-legal database), pushed,
and removed once the group recorded it; when the group database is unreachable it waits here for the next
:func:`push`. The group's unique key makes a push repeated after a crash harmless.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.group.reports import ReportState

if TYPE_CHECKING:
    import sqlite_utils

    from app.group.connection import GroupDB

DB_FILENAME = "group.sqlite"


def _v1(db: "sqlite_utils.Database") -> None:
    db.execute("CREATE TABLE pending_states (report_id TEXT NOT NULL, state TEXT NOT NULL, study_uid TEXT NOT NULL, "
               "reader TEXT NOT NULL, signed_at TEXT NOT NULL DEFAULT '', queued_at TEXT NOT NULL "
               "DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), PRIMARY KEY (report_id, state))")


MIGRATIONS = (_v1,)


class PendingStates:
    """The local queue of report states for the group."""

    def __init__(self, home: Path) -> None:
        from app.db import open_database

        self._db = open_database(Path(home) / DB_FILENAME, MIGRATIONS, label="group outbox")
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.conn.close()

    def add(self, state: ReportState) -> None:
        from app.db import transaction

        with self._lock, transaction(self._db):
            self._db.execute("INSERT OR IGNORE INTO pending_states (report_id, state, study_uid, reader, signed_at) "
                             "VALUES (?, ?, ?, ?, ?)", (state.report_id, state.state, state.study_uid, state.reader,
                                                       state.signed_at))

    def items(self) -> list[ReportState]:
        with self._lock:
            rows: list[Any] = self._db.execute("SELECT report_id, study_uid, state, reader, signed_at "
                                               "FROM pending_states ORDER BY queued_at, rowid").fetchall()
        return [ReportState(*r) for r in rows]

    def done(self, state: ReportState) -> None:
        from app.db import transaction

        with self._lock, transaction(self._db):
            self._db.execute("DELETE FROM pending_states WHERE report_id = ? AND state = ?",
                             (state.report_id, state.state))


def push(pending: PendingStates, db: "GroupDB", *, retry_for: float | None = None) -> int:
    """Push every waiting state (oldest first) until one fails (GroupUnavailable propagates); the count pushed."""
    from app.group.reports import record_report_state

    count = 0
    for state in pending.items():
        record_report_state(db, state, retry_for=retry_for)
        pending.done(state)
        count += 1
    return count
