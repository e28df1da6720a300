"""Rows of the study index: inserting one instance with its patient/study/series, and counts.

Every function expects the caller to hold the cache lock and, for writes, an open transaction.
"""

from __future__ import annotations

import json
from dataclasses import fields

import sqlite_utils

from app.dicom.header import Geometry, InstanceHeader

GEOMETRY_JSON = ("image_position", "image_orientation", "pixel_spacing")
REQUEST_COLUMNS = ("requested_procedure_priority", "study_priority_id", "patient_age", "requesting_service")


def patient_key(header: InstanceHeader) -> str:
    """Identity of a patient: issuer + ID, or name + birth date when the ID is empty."""
    if header.patient_id:
        return f"id\x1f{header.issuer_of_patient_id}\x1f{header.patient_id}"
    return f"name\x1f{header.patient_name}\x1f{header.patient_birth_date}"


_GEOMETRY_FIELDS = tuple(f.name for f in fields(Geometry))


def _insert(db: sqlite_utils.Database, table: str, record: dict[str, object]) -> int:
    """INSERT one row (column names are ours, never input); its rowid. Plain SQL: the import's hot path."""
    columns = ", ".join(f"[{name}]" for name in record)
    sql = f"INSERT INTO [{table}] ({columns}) VALUES ({', '.join('?' * len(record))})"
    return int(db.execute(sql, list(record.values())).lastrowid)  # type: ignore[arg-type]


def _id(db: sqlite_utils.Database, sql: str, value: str) -> int | None:
    row = db.execute(sql, [value]).fetchone()
    return None if row is None else int(row[0])


def _patient(db: sqlite_utils.Database, h: InstanceHeader) -> int:
    key = patient_key(h)
    found = _id(db, "SELECT id FROM patients WHERE patient_key = ?", key)
    if found is not None:
        return found
    record = {
        "patient_key": key,
        "patient_id": h.patient_id,
        "issuer": h.issuer_of_patient_id,
        "name": h.patient_name,
        "birth_date": h.patient_birth_date,
        "sex": h.patient_sex,
    }
    return _insert(db, "patients", record)


def fill_request_columns(db: sqlite_utils.Database, study_ref: int, h: InstanceHeader) -> None:
    """Set the study's empty request columns (priority, age, service) from ``h`` where it has them."""
    values = {name: getattr(h, name) for name in REQUEST_COLUMNS if getattr(h, name)}
    if values:
        sets = ", ".join(f"{name} = CASE WHEN {name} = '' THEN :{name} ELSE {name} END" for name in values)
        db.execute(f"UPDATE studies SET {sets} WHERE id = :id", {**values, "id": study_ref})


def _study(db: sqlite_utils.Database, h: InstanceHeader, source_node: str | None, now: str) -> int:
    found = _id(db, "SELECT id FROM studies WHERE study_uid = ?", h.study_instance_uid)
    if found is not None:
        fill_request_columns(db, found, h)
        return found
    record = {
        "study_uid": h.study_instance_uid,
        "patient_ref": _patient(db, h),
        "accession": h.accession_number,
        "study_date": h.study_date,
        "study_time": h.study_time,
        "description": h.study_description,
        "study_id": h.study_id,
        "body_part": h.body_part,
        "institution": h.institution,
        "referring_physician": h.referring_physician,
        **{name: getattr(h, name) for name in REQUEST_COLUMNS},
        "source_node": source_node,
        "received": now,
        "updated": now,
    }
    return _insert(db, "studies", record)


def _series(db: sqlite_utils.Database, h: InstanceHeader, study_ref: int) -> int:
    found = _id(db, "SELECT id FROM series WHERE series_uid = ?", h.series_instance_uid)
    if found is not None:
        return found
    record = {
        "series_uid": h.series_instance_uid,
        "study_ref": study_ref,
        "modality": h.modality,
        "series_number": h.series_number,
        "description": h.series_description,
        "body_part": h.body_part,
    }
    return _insert(db, "series", record)


def geometry_columns(h: InstanceHeader) -> dict[str, object]:
    """Geometry fields as columns (vectors as JSON arrays)."""
    columns = {name: getattr(h.geometry, name) for name in _GEOMETRY_FIELDS}
    for name in GEOMETRY_JSON:
        if columns[name] is not None:
            columns[name] = json.dumps(list(columns[name]))
    return columns


def refresh_counts(db: sqlite_utils.Database, study_ref: int, now: str) -> None:
    """Recompute a study's series/instance counts and modality list."""
    db.execute(
        "UPDATE series SET num_instances = (SELECT COUNT(*) FROM instances WHERE series_ref = series.id)"
        " WHERE study_ref = ?",
        [study_ref],
    )
    db.execute(
        """UPDATE studies SET
            num_series = (SELECT COUNT(*) FROM series WHERE study_ref = :s),
            num_instances = (SELECT COALESCE(SUM(num_instances), 0) FROM series WHERE study_ref = :s),
            modalities = (SELECT COALESCE(group_concat(m, '\\'), '') FROM
                (SELECT DISTINCT modality AS m FROM series WHERE study_ref = :s AND modality <> '' ORDER BY m)),
            updated = :now
        WHERE id = :s""",
        {"s": study_ref, "now": now},
    )


def index_instance(
    db: sqlite_utils.Database,
    h: InstanceHeader,
    *,
    path: str,
    size: int,
    sha256: str,
    source_node: str | None,
    now: str,
    refresh: bool = True,
) -> int:
    """Insert one instance (creating patient/study/series as needed); return the study row id.

    With ``refresh=False`` the caller runs :func:`refresh_counts` for the study afterwards."""
    study_ref = _study(db, h, source_node, now)
    record = {
        "sop_uid": h.sop_instance_uid,
        "series_ref": _series(db, h, study_ref),
        "sop_class_uid": h.sop_class_uid,
        "instance_number": h.instance_number,
        "transfer_syntax": h.transfer_syntax_uid,
        "path": path,
        "size": size,
        "sha256": sha256,
        "pixel_offset": h.pixel_offset,
        "pixel_length": h.pixel_length,
        "encapsulated": int(h.encapsulated),
        "state": "ok",
        "source_node": source_node,
        "received": now,
        **geometry_columns(h),
    }
    _insert(db, "instances", record)
    if refresh:
        refresh_counts(db, study_ref, now)
    return study_ref


def purge_empty(db: sqlite_utils.Database) -> int:
    """Delete series/studies without instances and patients without studies; return rows removed."""
    removed = db.execute("DELETE FROM series WHERE id NOT IN (SELECT series_ref FROM instances)").rowcount
    removed += db.execute("DELETE FROM studies WHERE id NOT IN (SELECT study_ref FROM series)").rowcount
    removed += db.execute("DELETE FROM patients WHERE id NOT IN (SELECT patient_ref FROM studies)").rowcount
    return removed
