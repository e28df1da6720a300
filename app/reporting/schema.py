"""The reporting database: its own SQLite file (opened by ``app.db``), ``SCHEMA_VERSION``, ordered migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import sqlite_utils

from app.db import SchemaTooNewError, apply_migrations, open_database, schema_version, transaction

SCHEMA_VERSION = 5
DB_FILENAME = "reports.sqlite"


class SchemaError(SchemaTooNewError):
    """The reporting database was written by a newer version of the application."""


def _v1_reports(db: sqlite_utils.Database) -> None:
    db["reports"].create(
        {
            "id": str, "study_uid": str, "kind": str, "state": str, "study_json": str, "sections_json": str,
            "template_id": str, "predecessor_id": str, "addendum_note": str, "measurements_json": str,
            "key_images_json": str, "critical": int, "critical_text": str, "created_at": str, "updated_at": str,
            "signed_at": str, "signer_name": str, "content_hash": str, "revision": int,
        },
        pk="id",
        not_null={"study_uid", "kind", "state", "study_json", "sections_json"},
    )
    db.execute("CREATE UNIQUE INDEX reports_one_original ON reports(study_uid) WHERE kind = 'original'")
    db["reports"].create_index(["predecessor_id"])
    db["report_outputs"].create(
        {"report_id": str, "role": str, "path": str, "sop_instance_uid": str, "series_uid": str,
         "sha256": str, "size": int},
        pk=("report_id", "role"),
        foreign_keys=[("report_id", "reports", "id")],
    )
    db["critical_notices"].create(
        {"id": int, "report_id": str, "recipient": str, "method": str, "communicated_at": str,
         "recorded_by": str, "note": str, "recorded_at": str},
        pk="id",
        foreign_keys=[("report_id", "reports", "id")],
    )
    db.executescript(
        """
        CREATE TRIGGER reports_final_immutable BEFORE UPDATE ON reports WHEN OLD.state = 'final'
        BEGIN SELECT RAISE(ABORT, 'signed report is immutable'); END;
        CREATE TRIGGER reports_final_undeletable BEFORE DELETE ON reports WHEN OLD.state = 'final'
        BEGIN SELECT RAISE(ABORT, 'signed report is immutable'); END;
        CREATE TRIGGER outputs_immutable BEFORE UPDATE ON report_outputs
        BEGIN SELECT RAISE(ABORT, 'report outputs are immutable'); END;
        CREATE TRIGGER outputs_undeletable BEFORE DELETE ON report_outputs
        BEGIN SELECT RAISE(ABORT, 'report outputs are immutable'); END;
        CREATE TRIGGER notices_append_only BEFORE UPDATE ON critical_notices
        BEGIN SELECT RAISE(ABORT, 'critical notices are append-only'); END;
        CREATE TRIGGER notices_undeletable BEFORE DELETE ON critical_notices
        BEGIN SELECT RAISE(ABORT, 'critical notices are append-only'); END;
        """
    )


def _v2_outbox(db: sqlite_utils.Database) -> None:
    db["outbox"].create(
        {"sop_instance_uid": str, "report_id": str, "path": str, "node": str, "state": str, "attempts": int,
         "next_attempt_at": float, "last_error": str, "created_at": str, "updated_at": str},
        pk="sop_instance_uid",
        not_null={"path", "node", "state"},
        foreign_keys=[("report_id", "reports", "id")],
    )
    db["outbox"].create_index(["state", "next_attempt_at"])


def _v3_notice_details(db: sqlite_utils.Database) -> None:
    """Critical-result communications record the recipient's role and whether the finding was read back."""
    have = {c.name for c in db["critical_notices"].columns}
    if "role" not in have:
        db.execute("ALTER TABLE critical_notices ADD COLUMN role TEXT NOT NULL DEFAULT ''")
    if "read_back" not in have:
        db.execute("ALTER TABLE critical_notices ADD COLUMN read_back INTEGER NOT NULL DEFAULT 0")


def _v4_header_repairs(db: sqlite_utils.Database) -> None:
    """What was repaired in the source's patient/study header before writing our objects (a JSON list)."""
    if "header_repairs" not in {c.name for c in db["reports"].columns}:
        db.execute("ALTER TABLE reports ADD COLUMN header_repairs TEXT NOT NULL DEFAULT '[]'")


def _v5_preliminary_reads(db: sqlite_utils.Database) -> None:
    """A preliminary read (who signed it, when) and the final reader's review of it (none/minor/major)."""
    have = {c.name for c in db["reports"].columns}
    for name in ("preliminary_signer", "preliminary_signed_at", "review", "review_note", "reviewed_by"):
        if name not in have:
            db.execute(f"ALTER TABLE reports ADD COLUMN {name} TEXT NOT NULL DEFAULT ''")


# Ordered: MIGRATIONS[i] moves the schema from version i to i + 1. Never edit a shipped step; append.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_v1_reports, _v2_outbox, _v3_notice_details,
                                                                  _v4_header_repairs, _v5_preliminary_reads)
assert len(MIGRATIONS) == SCHEMA_VERSION


def open_db(path: Path) -> sqlite_utils.Database:
    """Open (create, migrate) the reporting DB at ``path``: signed reports and the outbox, synchronous=FULL."""
    return open_database(path, MIGRATIONS, label="reporting DB", too_new=SchemaError)


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations, each in its own transaction; return the resulting version."""
    apply_migrations(db, MIGRATIONS, too_new=SchemaError, label="reporting DB")
    return schema_version(db)


__all__ = ["DB_FILENAME", "MIGRATIONS", "SCHEMA_VERSION", "SchemaError", "migrate", "open_db", "schema_version",
           "transaction"]
