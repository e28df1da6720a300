"""Database connection and ordered schema migrations (version in ``PRAGMA user_version``).

Add a migration by appending a list of statements to :data:`MIGRATIONS`; never edit an
applied one. :data:`SCHEMA_VERSION` is the number of migrations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import sqlite_utils

from app.db import SchemaTooNewError, Step, apply_migrations, open_database, schema_version

__all__ = ["SCHEMA_VERSION", "SchemaTooNewError", "connect", "integrity", "migrate", "schema_version"]

_V1_TABLES = [
    """CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        patient_key TEXT NOT NULL UNIQUE,
        patient_id TEXT NOT NULL DEFAULT '',
        issuer TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        birth_date TEXT NOT NULL DEFAULT '',
        sex TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE studies (
        id INTEGER PRIMARY KEY,
        study_uid TEXT NOT NULL UNIQUE,
        patient_ref INTEGER NOT NULL REFERENCES patients(id) ON DELETE RESTRICT,
        accession TEXT NOT NULL DEFAULT '',
        study_date TEXT NOT NULL DEFAULT '',
        study_time TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        study_id TEXT NOT NULL DEFAULT '',
        body_part TEXT NOT NULL DEFAULT '',
        institution TEXT NOT NULL DEFAULT '',
        referring_physician TEXT NOT NULL DEFAULT '',
        modalities TEXT NOT NULL DEFAULT '',
        num_series INTEGER NOT NULL DEFAULT 0,
        num_instances INTEGER NOT NULL DEFAULT 0,
        source_node TEXT,
        received TEXT NOT NULL,
        updated TEXT NOT NULL,
        conflict INTEGER NOT NULL DEFAULT 0,
        deleting INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        series_uid TEXT NOT NULL UNIQUE,
        study_ref INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
        modality TEXT NOT NULL DEFAULT '',
        series_number INTEGER,
        description TEXT NOT NULL DEFAULT '',
        body_part TEXT NOT NULL DEFAULT '',
        num_instances INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE instances (
        id INTEGER PRIMARY KEY,
        sop_uid TEXT NOT NULL UNIQUE,
        series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
        sop_class_uid TEXT NOT NULL,
        instance_number INTEGER,
        transfer_syntax TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        pixel_offset INTEGER,
        pixel_length INTEGER,
        encapsulated INTEGER NOT NULL DEFAULT 0,
        rows INTEGER, columns INTEGER, number_of_frames INTEGER,
        samples_per_pixel INTEGER, bits_allocated INTEGER, bits_stored INTEGER,
        pixel_representation INTEGER, photometric_interpretation TEXT,
        image_position TEXT, image_orientation TEXT, pixel_spacing TEXT,
        slice_thickness REAL, rescale_slope REAL, rescale_intercept REAL,
        window_center REAL, window_width REAL,
        state TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'missing')),
        source_node TEXT,
        received TEXT NOT NULL)""",
    """CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        sop_uid TEXT,
        study_uid TEXT,
        reason TEXT NOT NULL,
        source TEXT,
        source_node TEXT,
        time TEXT NOT NULL)""",
]

_V2_INDEXES = [
    "CREATE INDEX idx_studies_patient ON studies(patient_ref)",
    "CREATE INDEX idx_studies_date ON studies(study_date, study_time)",
    "CREATE INDEX idx_studies_accession ON studies(accession)",
    "CREATE INDEX idx_patients_name ON patients(name)",
    "CREATE INDEX idx_patients_id ON patients(patient_id)",
    "CREATE INDEX idx_series_study ON series(study_ref)",
    "CREATE INDEX idx_instances_series ON instances(series_ref)",
    "CREATE INDEX idx_quarantine_study ON quarantine(study_uid)",
    "CREATE INDEX idx_quarantine_sop ON quarantine(sop_uid)",
]

_V3_INCOMPLETE_AND_REQUEST = [
    "ALTER TABLE studies ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE studies ADD COLUMN expected_instances INTEGER",
    "ALTER TABLE studies ADD COLUMN incomplete_reason TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE studies ADD COLUMN requested_procedure_priority TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE studies ADD COLUMN study_priority_id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE studies ADD COLUMN patient_age TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE studies ADD COLUMN requesting_service TEXT NOT NULL DEFAULT ''",
]
REQUEST_COLUMNS_SINCE = 3  # studies indexed before this version get their request columns from a file

MIGRATIONS: list[list[str]] = [_V1_TABLES, _V2_INDEXES, _V3_INCOMPLETE_AND_REQUEST]
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite_utils.Database:
    """Open the index (WAL, foreign keys, full sync: ``app.db``); :func:`migrate` follows its integrity check."""
    return open_database(path, None, label="cache")


def _statements(sql: Sequence[str]) -> Step:
    def step(db: sqlite_utils.Database) -> None:
        for statement in sql:
            db.execute(statement)
    return step


def _steps() -> list[Step]:
    return [_statements(sql) for sql in MIGRATIONS]


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> int:
    """Apply pending migrations up to ``target`` in order, each in its own transaction;
    return the version found before (0 for a new database)."""
    return apply_migrations(db, _steps(), too_new=SchemaTooNewError, label="cache", target=target)


def integrity(db: sqlite_utils.Database) -> str:
    """``"ok"`` or SQLite's integrity_check / foreign_key_check complaint."""
    rows = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
    if rows != ["ok"]:
        return "; ".join(rows[:5])
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    return "ok" if not broken else f"{len(broken)} foreign key violations"
