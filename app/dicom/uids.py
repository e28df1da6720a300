"""DICOM UID validation: strict (PS3.5 9.1) and the tolerant form the cache accepts."""

from __future__ import annotations

import re

MAX_UID_LENGTH = 64
MAX_TOLERATED_LENGTH = 128
# ASCII digits only: ``\d`` would also accept other Unicode digits.
_UID_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
# Real devices write leading zeros ("1.2.01") and over-long UIDs; both are harmless to store.
_TOLERANT_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def is_valid_uid(value: object) -> bool:
    """True if ``value`` is a conformant UID.

    Components of ASCII digits separated by single dots, no leading zero in a
    multi-digit component, at most 64 characters, not empty. Trailing NUL or
    space padding must already have been removed by the caller (pydicom does).
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_UID_LENGTH:
        return False
    return _UID_RE.fullmatch(value) is not None


def is_tolerated_uid(value: object) -> bool:
    """True for UIDs the cache stores: ASCII digit components separated by single dots,
    at most 128 characters; leading zeros and lengths 65-128 (common device defects) pass."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TOLERATED_LENGTH:
        return False
    return _TOLERANT_RE.fullmatch(value) is not None


def uid_problem(value: object, *, strict: bool = True) -> str | None:
    """Return why ``value`` is not a valid (or, with ``strict=False``, tolerated) UID, or None."""
    if not isinstance(value, str):
        return "missing"
    if not value:
        return "empty"
    limit = MAX_UID_LENGTH if strict else MAX_TOLERATED_LENGTH
    if len(value) > limit:
        return f"longer than {limit} characters"
    if not (is_valid_uid(value) if strict else is_tolerated_uid(value)):
        return "not digits separated by dots (PS3.5 9.1)"
    return None


def conformance_warnings(value: str) -> str | None:
    """For a tolerated UID, what makes it non-conformant (None if conformant)."""
    return None if is_valid_uid(value) else "non-conformant UID (leading zero or over 64 characters)"
