"""Read-only queries of the study index, returning typed records."""

from __future__ import annotations

import json
import re
from array import array
from operator import itemgetter
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from app.dicom.header import Geometry
from app.store.files import resolve_inside
from app.store.models import InstanceRecord, QuarantineRecord, SeriesSummary, StudySummary

_STUDY_SQL = """
SELECT st.study_uid, p.patient_id, p.name, p.issuer, p.birth_date, p.sex, st.study_date, st.study_time,
       st.description, st.accession, st.modalities, st.num_series, st.num_instances, st.body_part,
       st.institution, st.referring_physician, st.source_node, st.received, st.conflict, st.incomplete,
       st.requested_procedure_priority, st.study_priority_id, st.patient_age, st.requesting_service,
       st.incomplete_reason, st.expected_instances
FROM studies st JOIN patients p ON p.id = st.patient_ref
WHERE st.deleting = 0 {where}
ORDER BY st.study_date DESC, st.study_time DESC, st.id DESC
"""
_FLAGS = ((), ("incomplete",), ("conflict",), ("conflict", "incomplete"))


_MODS: dict[str, tuple[str, ...]] = {}  # modalities text -> the one shared tuple


def _mods(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    found = _MODS.get(text)
    if found is None:
        if len(_MODS) > 10_000:
            _MODS.clear()
        found = _MODS[text] = tuple(sys.intern(m) for m in text.split("\\") if m)
    return found


def _study_values(r: tuple[Any, ...], s: Any = None) -> tuple[Any, ...]:
    """A row of ``_STUDY_SQL`` as the field values of :class:`StudySummary`, in order. ``s``: a dict's
    ``setdefault``, so repeated values (low-cardinality columns, a patient's ID and name) are one object across
    the rows listed."""
    if s is None:
        s = {}.setdefault
    return (r[0], s(r[1], r[1]), s(r[2], r[2]), s(r[3], r[3]), s(r[4], r[4]), s(r[5], r[5]), s(r[6], r[6]),
            s(r[7], r[7]), s(r[8], r[8]), r[9], _mods(r[10]), r[11], r[12], s(r[13], r[13]), s(r[14], r[14]),
            s(r[15], r[15]), s(r[16], r[16]), s(r[17], r[17]), _FLAGS[2 * bool(r[18]) + bool(r[19])], s(r[20], r[20]),
            s(r[21], r[21]), s(r[22], r[22]), s(r[23], r[23]), _incomplete_reason(r), r[25] if r[19] else None)


def _incomplete_reason(r: tuple[Any, ...]) -> str:
    if not r[19]:
        return ""
    reason = r[24] or "incomplete"
    return reason if r[25] is None else f"{reason} ({r[12]} of {r[25]} instances)"


def study_rows(db: sqlite_utils.Database, study_uid: str | None = None) -> list[tuple[Any, ...]]:
    """The field values of every visible study's :class:`StudySummary` (or of the one with ``study_uid``),
    newest study date first: one query, no object per row (``telerad studies --json`` streams these)."""
    if study_uid is None:
        rows = db.execute(_STUDY_SQL.format(where="")).fetchall()
    else:
        rows = db.execute(_STUDY_SQL.format(where="AND st.study_uid = ?"), [study_uid]).fetchall()
    shared = {}.setdefault
    return [_study_values(r, shared) for r in rows]


STUDY_FIELDS: tuple[str, ...] = tuple(StudySummary.__dataclass_fields__)


def list_studies(db: sqlite_utils.Database, study_uid: str | None = None) -> list[StudySummary]:
    """All visible studies, newest study date first (or the one with ``study_uid``)."""
    return [StudySummary(*values) for values in study_rows(db, study_uid)]


# What an UPDATE of a study row can change (every column a store path updates: counts, flags, request
# columns, patient moves): a study whose fingerprint is unchanged has an unchanged summary. Keep in step.
_FINGERPRINT_COLUMNS = ("patient_ref", "num_series", "num_instances", "conflict", "incomplete", "expected_instances",
                        "updated", "modalities", "requested_procedure_priority", "study_priority_id", "patient_age",
                        "requesting_service", "incomplete_reason")
_FINGERPRINT_EXPR = " || '|' || ".join(f"ifnull(st.{c}, '')" for c in _FINGERPRINT_COLUMNS)
_FINGERPRINT_SQL = f"""
SELECT st.id, {_FINGERPRINT_EXPR}
FROM studies st WHERE st.deleting = 0
ORDER BY st.study_date DESC, st.study_time DESC, st.id DESC
"""  # one text per study, joined by SQLite: a cheap row to compare
_BY_IDS_SQL = _STUDY_SQL.replace("SELECT st.study_uid,", "SELECT st.id, st.study_uid,", 1)
_ORDER = "ORDER BY st.study_date DESC, st.study_time DESC, st.id DESC"
# unordered: SQLite sorting 100,000 wide rows costs more than Python sorting them (_FIRST_ORDER: same order)
_FIRST_SQL = _STUDY_SQL.replace("SELECT st.study_uid,", f"SELECT st.id, {_FINGERPRINT_EXPR}, st.study_uid,", 1) \
    .replace(_ORDER, "")
_FIRST_ORDER = itemgetter(8, 9, 0)  # study_date, study_time, id of a _FIRST_SQL row (TEXT NOT NULL, unique id)
_CHUNK = 500  # ids per IN (...) query


@dataclass(frozen=True)
class StudyListing:
    """Every visible study's summary (``studies``: newest first, as :func:`list_studies`), with what a later
    :func:`study_listing` needs to re-read only the studies that changed: each one's row id and the hash of its
    fingerprint row, as machine integers (16 bytes a study, no int objects or dicts kept)."""

    version: tuple[int, int]
    studies: list[StudySummary]
    ids: array  # study row id of studies[i]
    prints: array  # hash of studies[i]'s fingerprint row


def study_listing(db: sqlite_utils.Database, previous: StudyListing | None = None) -> StudyListing:
    """The studies, reusing ``previous``: the same listing if the database has not changed, else one
    fingerprint query and full rows only for the studies new or changed since (summaries of the others are
    the same objects as before). Without ``previous``: one query for the rows and their fingerprints."""
    version = db_version(db)
    if previous is not None and previous.version == version:
        return previous
    shared = {}.setdefault
    if previous is None:  # rows and fingerprints from one query
        rows = db.execute(_FIRST_SQL.format(where="")).fetchall()
        try:
            rows.sort(key=_FIRST_ORDER, reverse=True)  # newest first: _STUDY_SQL's ORDER BY
        except TypeError:  # a non-text date or time (not written by this store): SQLite's order of mixed types
            rows = db.execute(_FIRST_SQL.format(where=_ORDER)).fetchall()
        return StudyListing(version, [StudySummary(*_study_values(r[2:], shared)) for r in rows],
                            array("q", [r[0] for r in rows]), array("q", [hash(r[1]) for r in rows]))
    prints = db.execute(_FINGERPRINT_SQL).fetchall()
    ids, hashes = array("q", [r[0] for r in prints]), array("q", [hash(r[1]) for r in prints])
    old = dict(zip(previous.ids, previous.prints))
    changed = [i for i, h in zip(ids, hashes) if old.get(i) != h]
    if len(changed) > len(prints) // 2:
        rows = db.execute(_BY_IDS_SQL.format(where="")).fetchall()
        by_id = {r[0]: StudySummary(*_study_values(r[1:], shared)) for r in rows}
    else:
        by_id = dict(zip(previous.ids, previous.studies))
        for start in range(0, len(changed), _CHUNK):
            chunk = changed[start:start + _CHUNK]
            where = f"AND st.id IN ({', '.join('?' * len(chunk))})"
            for r in db.execute(_BY_IDS_SQL.format(where=where), chunk).fetchall():
                by_id[r[0]] = StudySummary(*_study_values(r[1:], shared))
    kept = [n for n, i in enumerate(ids) if i in by_id]  # not deleted between the two queries
    if len(kept) != len(ids):
        ids, hashes = array("q", [ids[n] for n in kept]), array("q", [hashes[n] for n in kept])
    return StudyListing(version, [by_id[i] for i in ids], ids, hashes)


def db_version(db: sqlite_utils.Database) -> tuple[int, int]:
    """A stamp that changes whenever the database content may have: commits by other connections
    (``PRAGMA data_version``) and rows written through this one (``total_changes``)."""
    return int(db.execute("PRAGMA data_version").fetchone()[0]), int(db.conn.total_changes)


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
