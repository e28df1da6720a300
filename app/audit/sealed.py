"""The export spool's clear patient IDs, sealed (AES-256-GCM, ``app.crypto.DataKeys.fields``) while the
data folder is unlocked: the audit log itself stays plaintext (it opens before a sign-in)."""

from __future__ import annotations

from pathlib import Path

from app.crypto import keys_for

_CONTEXT = "audit spool patient id"
_PREFIX = b"TLRS1"


def seal_patient(log_path: Path, patient_id: str | None) -> "str | bytes | None":
    """What the spool stores for ``patient_id``: sealed bytes with the folder's keys, else the clear ID."""
    if not patient_id:
        return None
    keys = keys_for(log_path)
    return patient_id if keys is None else _PREFIX + keys.seal_field(patient_id, _CONTEXT)


def open_patient(log_path: Path, stored: "str | bytes | None") -> str | None:
    """The clear patient ID of a spool row (None when sealed and the folder is locked, or damaged: the
    message then carries the salted hash only)."""
    if stored is None or isinstance(stored, str):
        return stored
    keys = keys_for(log_path)
    if keys is None or not bytes(stored).startswith(_PREFIX):
        return None
    from cryptography.exceptions import InvalidTag

    try:
        return keys.open_field(bytes(stored)[len(_PREFIX):], _CONTEXT)
    except InvalidTag:
        return None
