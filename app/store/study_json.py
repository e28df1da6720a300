"""Every study's JSON object, built by SQLite's JSON functions in the query (``telerad studies --json`` at
100,000 studies): the same objects as the CLI's ``study_dict`` of :func:`app.store.queries.list_studies`
(tests/core/test_scale_listing.py compares them), with no Python object per field."""

from __future__ import annotations

import sqlite_utils

from app.store.queries import STUDY_FIELDS

_REASON = ("CASE WHEN NOT st.incomplete THEN '' ELSE coalesce(nullif(st.incomplete_reason, ''), 'incomplete')"
           " || CASE WHEN st.expected_instances IS NULL THEN ''"
           " ELSE ' (' || st.num_instances || ' of ' || st.expected_instances || ' instances)' END END")
_MODALITIES = ("json(CASE WHEN coalesce(st.modalities, '') = '' THEN '[]' ELSE (SELECT json_group_array(value)"
               " FROM json_each('[\"' || replace(st.modalities, '\\', '\",\"') || '\"]') WHERE value <> '') END)")
_FLAGS = ("json(CASE WHEN st.conflict AND st.incomplete THEN '[\"conflict\",\"incomplete\"]'"
          " WHEN st.conflict THEN '[\"conflict\"]' WHEN st.incomplete THEN '[\"incomplete\"]' ELSE '[]' END)")
# summary field -> (JSON key, SQL expression); counts are renamed and come last (as study_dict puts them)
_COLUMNS: dict[str, tuple[str, str]] = {
    "study_instance_uid": ("study_instance_uid", "st.study_uid"), "patient_id": ("patient_id", "p.patient_id"),
    "patient_name": ("patient_name", "p.name"), "issuer_of_patient_id": ("issuer_of_patient_id", "p.issuer"),
    "patient_birth_date": ("patient_birth_date", "p.birth_date"), "patient_sex": ("patient_sex", "p.sex"),
    "modalities": ("modalities", _MODALITIES), "flags": ("flags", _FLAGS), "incomplete_reason": ("incomplete_reason", _REASON),
    "expected_instances": ("expected_instances", "CASE WHEN st.incomplete THEN st.expected_instances END"),
    **{name: (name, f"st.{name}") for name in (
        "study_date", "study_time", "description", "accession", "body_part", "institution", "referring_physician",
        "source_node", "received", "requested_procedure_priority", "study_priority_id", "patient_age",
        "requesting_service")},
}
_COUNTS = (("series", "st.num_series"), ("instances", "st.num_instances"))


def _sql() -> str | None:
    fields = [f for f in STUDY_FIELDS if f not in ("num_series", "num_instances")]
    if any(f not in _COLUMNS for f in fields):
        return None  # a summary field this module does not know yet: the caller encodes in Python
    pairs = [_COLUMNS[f] for f in fields] + list(_COUNTS)
    args = ", ".join(f"'{key}', {expr}" for key, expr in pairs)
    return (f"SELECT json_object({args}) FROM studies st JOIN patients p ON p.id = st.patient_ref"
            " WHERE st.deleting = 0 ORDER BY st.study_date DESC, st.study_time DESC, st.id DESC")


def study_json_texts(db: sqlite_utils.Database) -> list[str] | None:
    """One JSON object text per visible study, newest first; None if the summary has a field not mapped here."""
    sql = _sql()
    return None if sql is None else [r[0] for r in db.execute(sql).fetchall()]
