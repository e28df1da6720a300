"""Ordered SQLite schema migrations shared by every database of the app (cache, worklist, reports, audit).

``steps[i]`` moves a database from version ``i`` to ``i + 1``; the version lives in
``PRAGMA user_version``. Each step runs in its own ``BEGIN IMMEDIATE`` transaction and
re-checks the version inside it, so two processes opening the same file migrate it once.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import sqlite_utils

Step = Callable[[sqlite_utils.Database], None]


def schema_version(db: sqlite_utils.Database) -> int:
    """The applied schema version (0 for a new database)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(db: sqlite_utils.Database, steps: Sequence[Step], *, too_new: Callable[[str], Exception],
                     label: str, target: Optional[int] = None) -> int:
    """Apply the pending steps up to ``target`` (default: all); return the version found before.

    Raises ``too_new(message)`` when the file was written by a newer application.
    """
    found, latest = schema_version(db), len(steps)
    if found > latest:
        raise too_new(f"{label} schema {found} is newer than this application supports ({latest})")
    for step in range(found, latest if target is None else target):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(db) == step:  # another process may have migrated meanwhile
                steps[step](db)
                db.execute(f"PRAGMA user_version = {step + 1}")
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
    return found
