"""The one clock of the workstation: aware UTC now, and its ISO 8601 text as stored in every database."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """Aware UTC now (the worklist's default clock)."""
    return datetime.now(timezone.utc)


def utc_iso() -> str:
    """UTC now as ISO 8601 text with milliseconds (``2026-12-03T14:00:00.123+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
