"""The table model sorts once and filters that order (issue 13): its rows always equal a full scan's
(filter every entry, then sort), through sorting, typing, clearing and entry updates."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.ui.worklist_model import COLUMNS, WorklistTableModel
from app.worklist import Priority, Worklist, WorklistFilter, filter_entries, sort_entries
from tests.core.test_worklist_support import FakeCache, FakeClock, study

NAMES = ("SMITH^ANNA", "SMITHSON^BO", "JONES^ANNA", "GARCIA^LUIS", "ANNA^SMITH")


def _scan(model: WorklistTableModel, key: str, descending: bool) -> list[str]:
    rows = sort_entries(filter_entries(model.entries(), model.filter), key, descending)
    return [e.study_instance_uid for e in rows]


def _shown(model: WorklistTableModel) -> list[str]:
    return [model.entry_at(r).study_instance_uid for r in range(model.rowCount())]


def test_rows_equal_a_full_scan(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wl = Worklist.open(tmp_path, clock=FakeClock())
    entries = wl.refresh(FakeCache([
        study(f"1.2.{i}", patient_id=f"P{i % 40}", patient_name=NAMES[i % 5], accession=f"ACC{i:04d}",
              modalities=(("CT", "MR", "CR")[i % 3],), description=f"head #{i}") for i in range(240)]))
    model = WorklistTableModel(FakeClock(), tick_ms=0)
    model.set_entries(entries)
    column = [k for _, k in COLUMNS].index("patient")
    model.sort(column, Qt.SortOrder.DescendingOrder)
    for typed in ("smith an", "acc01", "p1"):
        for i in range(1, len(typed) + 1):
            model.set_filter(WorklistFilter(modality="CT", text=typed[:i].strip()))
            assert _shown(model) == _scan(model, "patient", True), typed[:i]
        assert model.rowCount() > 0
    moved = wl.set_priority(_shown(model)[-1], Priority.STAT, "dr")  # STAT: first among its namesakes
    model.update_entry(moved)
    assert _shown(model) == _scan(model, "patient", True) and _shown(model)[-1] != moved.study_instance_uid
    assert model.entry_at(model.row_of(moved.study_instance_uid)) is moved
    model.set_filter(WorklistFilter())
    model.sort(-1)
    assert _shown(model) == _scan(model, "reading", False) and model.rowCount() == 240
    assert model.row_of(_shown(model)[7]) == 7
    wl.close()
