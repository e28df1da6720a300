"""Search as you type narrows the rows shown: the result must equal a full scan's (issue 13, goal 3)."""

from __future__ import annotations

from pathlib import Path

from app.worklist import Worklist, WorklistFilter, filter_entries, narrows, sort_entries
from tests.core.test_worklist_support import FakeCache, FakeClock, study

NAMES = ("Smith^Anna", "Smithson^Bo", "Jones^Anna", "Garcia^Luis", "Anna^Smith")


def _entries(tmp_path: Path) -> list:  # type: ignore[type-arg]
    studies = [study(f"1.2.{i}", patient_id=f"P{i % 40}", patient_name=NAMES[i % 5],
                     modalities=(("CT", "MR")[i % 2],), description=f"head #{i}") for i in range(300)]
    wl = Worklist.open(tmp_path, clock=FakeClock())
    entries = wl.refresh(FakeCache(studies))
    wl.close()
    return entries


def test_typing_narrows_and_equals_a_full_scan(tmp_path: Path) -> None:
    entries = _entries(tmp_path)
    for typed in ("smith anna", "p1", "jones^an", "head #1"):
        shown = sort_entries(entries, "patient")
        previous = WorklistFilter(modality="CT")
        for i in range(1, len(typed) + 1):
            f = WorklistFilter(modality="CT", text=typed[:i].strip())
            shown = filter_entries(shown, f) if narrows(previous, f) else sort_entries(
                filter_entries(entries, f), "patient")
            assert shown == sort_entries(filter_entries(entries, f), "patient"), typed[:i]
            previous = f
        assert shown  # the last search found something: the test exercises real matches


def test_what_does_not_narrow() -> None:
    assert narrows(WorklistFilter(text="sm"), WorklistFilter(text="smi"))
    assert narrows(WorklistFilter(text="sm"), WorklistFilter(text="sm a"))
    assert not narrows(WorklistFilter(text="smi"), WorklistFilter(text="sm"))  # backspace widens
    assert not narrows(WorklistFilter(text="sm"), WorklistFilter(text="xsm"))
    assert not narrows(WorklistFilter(text="sm"), WorklistFilter(text="smi", modality="CT"))
    assert not narrows(WorklistFilter(text=""), WorklistFilter(text="s"))
