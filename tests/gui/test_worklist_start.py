"""Cold start (issue 13): the window shows the first page of the reading order from one index query, then
starts the full refresh; a full worklist that got there first is not replaced by the page."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from app.store import Cache
from app.ui.bridge import TaskBridge
from app.ui.worklist_model import WorklistTableModel
from app.ui.worklist_start import FIRST_PAGE, load_worklist_at_start
from app.worklist import Worklist
from bench.scale import generate


def _window(tmp_path: Path, qtbot):  # type: ignore[no-untyped-def]
    generate(tmp_path / "cache", FIRST_PAGE + 50)
    cache, wl = Cache.open(tmp_path / "cache"), Worklist.open(tmp_path)
    window = SimpleNamespace(ws=SimpleNamespace(worklist=wl, cache=cache), bridge=TaskBridge(),
                             worklist_panel=SimpleNamespace(model=WorklistTableModel(tick_ms=0)), refreshed=[])
    window.refresh = lambda: window.refreshed.append(window.worklist_panel.model.rowCount())
    return window


def test_first_page_then_the_full_refresh(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = _window(tmp_path, qtbot)
    load_worklist_at_start(window)
    qtbot.waitUntil(lambda: bool(window.refreshed), timeout=30_000)
    model = window.worklist_panel.model
    assert window.refreshed == [FIRST_PAGE]  # the page was on screen when the refresh started
    full = window.ws.worklist.refresh(window.ws.cache)
    assert [model.entry_at(r) for r in range(model.rowCount())] == full[:FIRST_PAGE]
    window.bridge.shutdown()
    window.ws.cache.close()


def test_a_loaded_worklist_is_kept(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = _window(tmp_path, qtbot)
    full = window.ws.worklist.refresh(window.ws.cache)
    window.worklist_panel.model.set_entries(full)
    load_worklist_at_start(window)
    qtbot.waitUntil(lambda: bool(window.refreshed), timeout=30_000)
    assert window.refreshed == [len(full)] and window.worklist_panel.model.entries() == full
    window.bridge.shutdown()
    window.ws.cache.close()
