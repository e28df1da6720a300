"""The worklist table model: reading order, highlights of STAT rows and breaches, live clock, sort, filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.worklist_model import (
    BREACH_CELL, BREACH_ROW, CLOCK_COLUMN, COL, NEAR_ROW, STAT_CELL, STAT_ROW, WorklistTableModel,
)
from app.worklist import Priority, Worklist, WorklistFilter
from tests.core.test_worklist_support import T0, FakeCache, FakeClock, study

BG = Qt.ItemDataRole.BackgroundRole


@pytest.fixture
def setup(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    wl = Worklist.open(tmp_path, clock=clock)
    wl.refresh(FakeCache([
        study("ct-head", patient_id="A", modalities=("CT",), description="CT HEAD"),
        study("cr-chest", patient_id="B", modalities=("CR",), body_part="CHEST", description="CXR"),
        study("mr-knee", patient_id="C", modalities=("MR",), body_part="KNEE", description="MR KNEE"),
    ]))
    wl.set_priority("cr-chest", Priority.STAT, "dr")
    model = WorklistTableModel(clock, tick_ms=0)
    model.set_entries(wl.entries())
    yield wl, model, clock
    wl.close()


def colour(model: WorklistTableModel, row: int, col: int) -> str | None:
    brush = model.index(row, col).data(BG)
    return None if brush is None else brush.color().name()


def test_rows_in_reading_order_with_stat_highlighted(setup) -> None:  # type: ignore[no-untyped-def]
    wl, model, _ = setup
    assert model.rowCount() == 3 and model.columnCount() == len(COL) + 1
    assert model.index(0, COL["priority"]).data() == "STAT"
    assert model.entry_at(0).study_instance_uid == "cr-chest"
    assert colour(model, 0, 0) == STAT_CELL.name() and colour(model, 0, 3) == STAT_ROW.name()
    assert colour(model, 1, 3) is None  # routine, on time: no highlight
    assert model.index(0, CLOCK_COLUMN).data() == "1:00:00"
    assert model.index(0, COL["subspecialty"]).data() == "chest"


def test_live_clock_and_breach_highlight(qtbot, setup) -> None:  # type: ignore[no-untyped-def]
    wl, model, clock = setup
    clock.advance(minutes=61)
    with qtbot.waitSignal(model.dataChanged, timeout=1000):
        model.tick()
    assert model.index(0, CLOCK_COLUMN).data() == "-0:01:00"
    assert colour(model, 0, CLOCK_COLUMN) == BREACH_CELL.name() and colour(model, 0, 3) == BREACH_ROW.name()
    clock.advance(hours=18)  # routine: 24 h - 19 h 01 = 4 h 59 left, under a quarter of the target
    model.tick()
    assert colour(model, 1, 3) == NEAR_ROW.name()
    # the QTimer drives the same tick
    timed = WorklistTableModel(clock, tick_ms=20)
    timed.set_entries(wl.entries())
    clock.advance(minutes=1)
    qtbot.waitUntil(lambda: timed.now == clock.now, timeout=2000)
    assert timed.index(0, CLOCK_COLUMN).data() == "-18:02:00"
    timed.timer.stop()


def test_sort_filter_and_update_keep_the_selection(qtbot, setup) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QItemSelectionModel

    wl, model, _ = setup
    selection = QItemSelectionModel(model)
    selection.setCurrentIndex(model.index(2, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    chosen = model.entry_at(2).study_instance_uid
    model.sort(COL["patient_id"], Qt.SortOrder.DescendingOrder)
    assert [model.entry_at(r).patient_id for r in range(3)] == ["C", "B", "A"]
    assert model.entry_at(selection.currentIndex().row()).study_instance_uid == chosen
    model.sort(-1)
    model.update_entry(wl.mark_read("cr-chest", "dr"))  # done: moves to the end, selection follows
    assert model.entry_at(2).study_instance_uid == "cr-chest"
    assert model.index(2, COL["status"]).data() == "final"
    assert model.entry_at(selection.currentIndex().row()).study_instance_uid == chosen
    model.set_filter(WorklistFilter(modality="MR"))
    assert model.rowCount() == 1 and model.entry_at(0).study_instance_uid == "mr-knee"
    model.set_filter(WorklistFilter(text="cxr"))
    assert model.rowCount() == 1 and model.entry_at(0).study_instance_uid == "cr-chest"
