"""Reader-first fetch order: the slice the viewer opens on first, then its neighbours outward, then the other series.

The viewer opens a series at its middle frame (app/viewer/loading.py), so each series is fetched from its middle
slice outward; the opening series (the one the hanging protocol shows first) comes before all others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Slot:
    """One instance to fetch, with what ordering needs."""

    series_uid: str
    sop_uid: str
    instance_number: int | None = None
    series_number: int | None = None


def middle_out(items: Sequence[Slot]) -> list[Slot]:
    """``items`` (already in display order) from the middle one (index len // 2) outward, alternating sides."""
    start = len(items) // 2
    out = [items[start]] if items else []
    for step in range(1, len(items)):
        for i in (start + step, start - step):
            if 0 <= i < len(items):
                out.append(items[i])
    return out[:len(items)]


def _display_order(slots: Iterable[Slot]) -> list[Slot]:
    return sorted(slots, key=lambda s: (s.instance_number is None, s.instance_number or 0, s.sop_uid))


def opening_series(slots: Iterable[Slot]) -> str | None:
    """The series shown first: the lowest series number among the multi-slice series (else the lowest overall)."""
    counts: dict[str, tuple[int, int | None]] = {}
    for s in slots:
        n, _ = counts.get(s.series_uid, (0, s.series_number))
        counts[s.series_uid] = (n + 1, s.series_number)
    if not counts:
        return None
    return min(counts, key=lambda uid: (counts[uid][0] < 2, counts[uid][1] is None, counts[uid][1] or 0, uid))


def reader_order(slots: Iterable[Slot], first_series: str | None = None) -> list[Slot]:
    """Every slot, the opening series' middle slice first, each series middle-out, series by series number."""
    slots = list(slots)
    first = first_series or opening_series(slots)
    by_series: dict[str, list[Slot]] = {}
    for s in slots:
        by_series.setdefault(s.series_uid, []).append(s)

    def series_key(uid: str) -> tuple[bool, bool, int, str]:
        number = by_series[uid][0].series_number
        return (uid != first, number is None, number or 0, uid)

    return [s for uid in sorted(by_series, key=series_key) for s in middle_out(_display_order(by_series[uid]))]
