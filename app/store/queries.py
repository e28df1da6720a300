"""Read-only queries of the study index, returning typed records."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import sqlite_utils

from app.dicom.header import Geometry
from app.store.files import resolve_inside
from app.store.models import InstanceRecord, QuarantineRecord, SeriesSummary, StudySummary

_STUDY_SQL = """
SELECT st.*, p.patient_id AS pid, p.name AS pname, p.issuer AS pissuer,
       p.birth_date AS pbirth, p.sex AS psex
FROM studies st JOIN patients p ON p.id = st.patient_ref
WHERE st.deleting = 0 {where}
ORDER BY st.study_date DESC, st.study_time DESC, st.id DESC
"""


def _study(row: dict[str, Any]) -> StudySummary:
    return StudySummary(
        study_instance_uid=row["study_uid"],
        patient_id=row["pid"],
        patient_name=row["pname"],
        issuer_of_patient_id=row["pissuer"],
        patient_birth_date=row["pbirth"],
        patient_sex=row["psex"],
        study_date=row["study_date"],
        study_time=row["study_time"],
        description=row["description"],
        accession=row["accession"],
        modalities=tuple(m for m in row["modalities"].split("\\") if m),
        num_series=row["num_series"],
        num_instances=row["num_instances"],
        body_part=row["body_part"],
        institution=row["institution"],
        referring_physician=row["referring_physician"],
        source_node=row["source_node"],
        received=row["received"],
        flags=_flags(row),
        requested_procedure_priority=row["requested_procedure_priority"],
        study_priority_id=row["study_priority_id"],
        patient_age=row["patient_age"],
        requesting_service=row["requesting_service"],
        incomplete_reason=_incomplete_reason(row),
    )


def _incomplete_reason(row: dict[str, Any]) -> str:
    if not row["incomplete"]:
        return ""
    reason = row["incomplete_reason"] or "incomplete"
    expected = row["expected_instances"]
    return reason if expected is None else f"{reason} ({row['num_instances']} of {expected} instances)"


def _flags(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name in ("conflict", "incomplete") if row[name])


def list_studies(db: sqlite_utils.Database, study_uid: str | None = None) -> list[StudySummary]:
    """All visible studies, newest study date first (or the one with ``study_uid``)."""
    if study_uid is None:
        return [_study(r) for r in db.query(_STUDY_SQL.format(where=""))]
    rows = db.query(_STUDY_SQL.format(where="AND st.study_uid = ?"), [study_uid])
    return [_study(r) for r in rows]


def list_series(db: sqlite_utils.Database, study_uid: str) -> list[SeriesSummary]:
    """Series of one study ordered by series number."""
    sql = """SELECT se.*, st.study_uid FROM series se JOIN studies st ON st.id = se.study_ref
             WHERE st.study_uid = ? AND st.deleting = 0
             ORDER BY se.series_number IS NULL, se.series_number, se.id"""
    return [
        SeriesSummary(
            series_instance_uid=r["series_uid"],
            study_instance_uid=r["study_uid"],
            modality=r["modality"],
            series_number=r["series_number"],
            description=r["description"],
            body_part=r["body_part"],
            num_instances=r["num_instances"],
        )
        for r in db.query(sql, [study_uid])
    ]


def _vector(text: str | None) -> tuple[float, ...] | None:
    return None if text is None else tuple(float(v) for v in json.loads(text))


def _geometry(row: dict[str, Any]) -> Geometry:
    values = {name: row[name] for name in Geometry.__dataclass_fields__}
    for name in ("image_position", "image_orientation", "pixel_spacing"):
        values[name] = _vector(values[name])
    return Geometry(**values)


_INSTANCES_SQL = """SELECT i.*, se.series_uid FROM instances i JOIN series se ON se.id = i.series_ref
             JOIN studies st ON st.id = se.study_ref
             WHERE {where} AND st.deleting = 0
             ORDER BY i.instance_number IS NULL, i.instance_number, i.id"""


_SAFE_REL = re.compile(r"(?:objects|quarantine)(?:/[0-9A-Za-z_.-]+)+")


def _path(root: Path, rel: str) -> Path:
    """Absolute path of an indexed relative path: a plain join for the paths the store writes (no ``..``,
    no symlink-free check needed, no syscall), else :func:`resolve_inside`."""
    if _SAFE_REL.fullmatch(rel) and "/../" not in f"/{rel}/" and "/./" not in f"/{rel}/":
        return Path(f"{root}/{rel}")
    return resolve_inside(root, rel)


def _instance(root: Path, r: dict[str, Any]) -> InstanceRecord:
    return InstanceRecord(
        sop_instance_uid=r["sop_uid"],
        sop_class_uid=r["sop_class_uid"],
        series_instance_uid=r["series_uid"],
        instance_number=r["instance_number"],
        transfer_syntax_uid=r["transfer_syntax"],
        path=_path(root, r["path"]),
        size=r["size"],
        sha256=r["sha256"],
        pixel_offset=r["pixel_offset"],
        pixel_length=r["pixel_length"],
        encapsulated=bool(r["encapsulated"]),
        state=r["state"],
        geometry=_geometry(r),
    )


def list_instances(db: sqlite_utils.Database, root: Path, series_uid: str) -> list[InstanceRecord]:
    """Instances of one series ordered by instance number, with absolute file paths."""
    return [_instance(root, r) for r in db.query(_INSTANCES_SQL.format(where="se.series_uid = ?"), [series_uid])]


def get_instance(db: sqlite_utils.Database, root: Path, sop_uid: str) -> InstanceRecord | None:
    """One instance by SOP Instance UID, or None."""
    rows = list(db.query(_INSTANCES_SQL.format(where="i.sop_uid = ?"), [sop_uid]))
    return _instance(root, rows[0]) if rows else None


def study_of_series(db: sqlite_utils.Database, series_uid: str) -> str | None:
    """The Study Instance UID a series belongs to, or None."""
    row = db.execute("""SELECT st.study_uid FROM series se JOIN studies st ON st.id = se.study_ref
                        WHERE se.series_uid = ? AND st.deleting = 0""", [series_uid]).fetchone()
    return row[0] if row else None


def instance_uids(db: sqlite_utils.Database, study_uid: str) -> set[str]:
    """SOP Instance UIDs of a study whose files are present (state ``ok``)."""
    rows = db.execute("""SELECT i.sop_uid FROM instances i JOIN series se ON se.id = i.series_ref
                         JOIN studies st ON st.id = se.study_ref
                         WHERE st.study_uid = ? AND st.deleting = 0 AND i.state = 'ok'""", [study_uid])
    return {r[0] for r in rows}


def list_quarantine(db: sqlite_utils.Database, root: Path) -> list[QuarantineRecord]:
    """Quarantined files, oldest first."""
    return [
        QuarantineRecord(
            path=_path(root, r["path"]),
            sha256=r["sha256"],
            sop_instance_uid=r["sop_uid"],
            study_instance_uid=r["study_uid"],
            reason=r["reason"],
            source=r["source"],
            time=r["time"],
            source_node=r["source_node"],
        )
        for r in db.query("SELECT * FROM quarantine ORDER BY id")
    ]
