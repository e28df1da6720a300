"""The one clock of the workstation: aware UTC now, and its ISO 8601 text as stored in every database.

Tests (and ``telerad purge --now``) move it with :func:`frozen_at`; every caller of :func:`utc_now` /
:func:`utc_iso` then sees that instant."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import Callable, Iterator, Optional

_source: Optional[Callable[[], datetime]] = None  # None: the system clock


def utc_now() -> datetime:
    """Aware UTC now (the worklist's default clock)."""
    return _source() if _source is not None else datetime.now(timezone.utc)


def utc_iso() -> str:
    """UTC now as ISO 8601 text with milliseconds (``2026-12-03T14:00:00.123+00:00``)."""
    return utc_now().isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 instant as aware UTC (a naive one is taken as UTC); ValueError if unreadable."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


@contextlib.contextmanager
def frozen_at(when: datetime | Callable[[], datetime]) -> Iterator[None]:
    """Within the block the clock reads ``when`` (an instant, or a function giving one)."""
    global _source
    previous = _source
    _source = when if callable(when) else (lambda: when)  # type: ignore[assignment,return-value]
    try:
        yield
    finally:
        _source = previous
