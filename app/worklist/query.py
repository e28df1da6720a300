"""Filtering and sorting of worklist entries (Qt-free, so 10,000 rows stay well under 50 ms)."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from app.worklist.types import WorklistEntry

TO_READ = "to_read"  # status filter value: unread or in progress, not reference


@dataclass(frozen=True)
class WorklistFilter:
    """Empty fields match everything. ``status``: a Status value or ``to_read``;
    dates are DICOM DA strings (inclusive); ``text`` searches name, IDs, accession, description."""

    modality: str = ""
    site: str = ""
    status: str = ""
    subspecialty: str = ""
    date_from: str = ""
    date_to: str = ""
    text: str = ""

    def matches(self, e: WorklistEntry) -> bool:
        if self.modality and self.modality not in e.modalities:
            return False
        if self.site and e.site != self.site:
            return False
        if self.status:
            if self.status == TO_READ:
                if not e.to_read:
                    return False
            elif e.status.value != self.status:
                return False
        if self.subspecialty and e.subspecialty != self.subspecialty:
            return False
        if self.date_from and (not e.study_date or e.study_date < self.date_from):
            return False
        if self.date_to and (not e.study_date or e.study_date > self.date_to):
            return False
        if self.text:
            hay = e.search_text
            return all(word in hay for word in self.text.lower().split())
        return True


def narrows(old: WorklistFilter, new: WorklistFilter) -> bool:
    """True if every entry ``new`` matches is matched by ``old`` too (only the search text grew at its end):
    filtering ``old``'s result with ``new`` then equals a full scan, in the same order."""
    from dataclasses import replace

    old_text, new_text = old.text.lower(), new.text.lower()
    return (replace(old, text="") == replace(new, text="") and new_text != old_text
            and new_text.startswith(old_text) and bool(old_text.strip()))


def filter_entries(entries: Iterable[WorklistEntry], f: WorklistFilter) -> list[WorklistEntry]:
    """The entries ``f`` matches, in their order. A search alone (what typing does) is one pass over the
    entries' cached lower-case search text, without a call per entry."""
    if f.text and f == WorklistFilter(text=f.text):
        words = f.text.lower().split()
        if len(words) == 1:
            word = words[0]
            return [e for e in entries if word in e.search_text]
        return [e for e in entries if all(w in e.search_text for w in words)]
    if f == _NO_FILTER:
        return list(entries)
    return [e for e in entries if f.matches(e)]


_NO_FILTER = WorklistFilter()


def _clock_key(e: WorklistEntry) -> tuple[int, datetime]:
    return (0 if e.to_read else 1, e.due)


SORT_KEYS: dict[str, Callable[[WorklistEntry], Any]] = {
    "reading": WorklistEntry.reading_key,
    "priority": lambda e: (e.priority.rank, e.due),
    "clock": _clock_key,
    "due": lambda e: e.due,
    "arrival": lambda e: e.arrival,
    "status": lambda e: (list(type(e.status)).index(e.status), e.due),
    "patient": lambda e: e.patient_name.lower(),
    "patient_id": lambda e: e.patient_id.lower(),
    "study_date": lambda e: (e.study_date, e.study_time),
    "modality": lambda e: "/".join(e.modalities),
    "description": lambda e: e.description.lower(),
    "reason": lambda e: e.order.reason.lower(),
    "subspecialty": lambda e: e.subspecialty,
    "site": lambda e: e.site.lower(),
    "claimed_by": lambda e: e.claimed_by or "",
    "priors": lambda e: len(e.priors),
}


_READING = attrgetter("_reading_key")  # the cached reading key (WorklistEntry.reading_key), no method call


def sort_entries(entries: Sequence[WorklistEntry], key: str = "reading", descending: bool = False) -> list[WorklistEntry]:
    """Sorted copy; ties keep reading order."""
    ordered = sorted(entries, key=_READING)
    if key == "reading":
        return ordered[::-1] if descending else ordered
    return sorted(ordered, key=SORT_KEYS[key], reverse=descending)


def facets(entries: Iterable[WorklistEntry]) -> dict[str, list[str]]:
    """Distinct values for the filter pickers."""
    mods: set[str] = set()
    sites: set[str] = set()
    subs: set[str] = set()
    for e in entries:
        mods.update(e.modalities)
        sites.add(e.site)
        subs.add(e.subspecialty)
    return {"modality": sorted(mods), "site": sorted(sites), "subspecialty": sorted(subs)}
