"""The worklist panel with shared data imported: filters, search, open with priors, context-menu actions,
retrieve now, delete from cache, remembered layout, configurable shortcuts, and a screenshot."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from app.ui.worklist_model import PREFETCH_COLUMN
from app.worklist import Priority, Status, Worklist, utc_now
from tests.core.test_worklist_support import FakeClock
from tests.gui.conftest import assert_real_rendering, qimage_to_array


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, shared_data: Path):  # type: ignore[no-untyped-def]
    from app.importer import import_paths
    from app.store import Cache

    home = tmp_path_factory.mktemp("wlpanel")
    cache = Cache.open(home / "cache")
    import_paths(cache, [shared_data / "ct" / "philips_phantom_study1_1mm", shared_data / "ct" /
                         "philips_phantom_study2_tilted", shared_data / "mg", shared_data / "cr_dx"])
    yield cache
    cache.close()


@pytest.fixture
def make_panel(qtbot, tmp_path: Path, imported):  # type: ignore[no-untyped-def]
    from app.ui.bridge import TaskBridge
    from app.ui.worklist_panel import WorklistPanel

    made: list[Any] = []

    def make(clock: Any = utc_now, **kw: Any) -> Any:
        from app.config import Paths
        from app.workstation import Workstation

        bridge = TaskBridge()
        ws = Workstation(Paths(tmp_path, tmp_path / "config"), "dr_night", clock=clock,
                         services={"cache": kw.pop("cache", imported)})
        panel = WorklistPanel(ws, bridge, refresh_ms=0, **kw)
        qtbot.addWidget(panel)
        panel.resize(1400, 420)
        panel.show()
        with qtbot.waitSignal(panel.entries_loaded, timeout=30_000):
            panel.refresh()
        made.append((panel, bridge, ws))
        return panel

    yield make
    for panel, bridge, ws in made:
        panel.shutdown()
        bridge.shutdown()
        ws.close()


def row_of_patient(panel: Any, patient_id: str) -> list[int]:
    return [r for r in range(panel.model.rowCount()) if panel.model.entry_at(r).patient_id == patient_id]


def test_filters_search_and_open_with_priors(qtbot, make_panel, imported) -> None:  # type: ignore[no-untyped-def]
    panel = make_panel()
    assert panel.model.rowCount() == len(imported.list_studies()) >= 6
    modalities = [panel.modality.itemText(i) for i in range(panel.modality.count())]
    assert {"CT", "MG", "CR"} <= set(modalities)
    panel.modality.setCurrentIndex(panel.modality.findData("CT"))
    assert panel.model.rowCount() == 2
    panel.modality.setCurrentIndex(0)
    panel.subspecialty.setCurrentIndex(panel.subspecialty.findData("breast"))
    assert panel.model.rowCount() == 1 and panel.model.entry_at(0).modalities == ("MG",)
    panel.subspecialty.setCurrentIndex(0)
    panel.search.setText("plastic")
    assert panel.model.rowCount() == 2
    panel.search.clear()
    row = row_of_patient(panel, "PLASTIC")[0]
    entry = panel.model.entry_at(row)
    index = panel.model.index(row, 3)
    with qtbot.waitSignal(panel.open_requested, timeout=2000) as blocker:
        panel.table.doubleClicked.emit(index)
    assert blocker.args[0] == entry.study_instance_uid
    assert len(blocker.args[1]) == 1 and blocker.args[1][0] != entry.study_instance_uid
    assert panel.model.entry_at(row_of_patient(panel, "PLASTIC")[1]).study_instance_uid == blocker.args[1][0]


def test_actions_change_priority_status_and_persist(qtbot, make_panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(utc_now())
    panel = make_panel(clock)
    last = panel.model.entry_at(panel.model.rowCount() - 1).study_instance_uid
    panel.select(last)
    panel.actions_by_name["priority_stat"].trigger()
    assert panel.model.entry_at(0).study_instance_uid == last and panel.model.entry_at(0).priority is Priority.STAT
    panel.select(last)
    panel.actions_by_name["start"].trigger()
    assert panel.worklist.entry(last).claimed_by == "dr_night"
    messages: list[str] = []
    panel.status_message.connect(messages.append)
    panel.select(panel.model.entry_at(1).study_instance_uid)
    panel.actions_by_name["mark_read"].trigger()
    done = panel.model.entry_at(panel.model.rowCount() - 1)
    assert done.status is Status.FINAL and panel.model.index(panel.model.rowCount() - 1, 2).data() == "final"
    panel.select(done.study_instance_uid)
    panel.worklist.claim(done.study_instance_uid, "dr_day", force=True)  # another reader holds it
    panel.actions_by_name["release"].trigger()
    assert messages and "claimed by dr_day" in messages[-1]
    # screenshot: STAT breached, routine studies near breach, one study read
    clock.advance(hours=19)
    panel.model.tick()
    qtbot.wait(50)
    shot = panel.grab()
    shot.save(str(Path(__file__).resolve().parents[1] / "artifacts" / "worklist_panel.png"))
    assert_real_rendering(qimage_to_array(shot.toImage()))
    # restart: the status, claim and priority come back from worklist.sqlite
    again = Worklist.open(tmp_path, clock=clock)
    again.refresh(panel.ws.cache)
    assert again.entry(last).priority is Priority.STAT and again.entry(last).status is Status.IN_PROGRESS
    assert again.entry(done.study_instance_uid).status is Status.FINAL
    again.close()


def test_retrieve_now_prefetches_remote_studies(qtbot, make_panel, imported) -> None:  # type: ignore[no-untyped-def]
    remote = [{"study_instance_uid": "1.2.999.1", "patient_id": "PLASTIC", "modalities": ["CT"],
               "body_part": "BRAIN", "institution": "QMC", "study_date": "20140101", "description": "remote CT"}]
    calls: list[str] = []
    gate = threading.Event()

    def retrieve(uid: str, progress: Any, cancel: Any) -> None:
        calls.append(uid)
        gate.wait(5)

    panel = make_panel(retrieve=retrieve, remote_source=lambda: remote)
    remote_row = panel.model.row_of("1.2.999.1")
    assert remote_row is not None and "remote" in panel.model.index(remote_row, 2).data()
    # automatic prefetch after the load: the remote study is a prior of both PLASTIC studies
    qtbot.waitUntil(lambda: calls == ["1.2.999.1"], timeout=5000)
    plastic_row = row_of_patient(panel, "PLASTIC")[0]
    qtbot.waitUntil(lambda: panel.model.index(plastic_row, PREFETCH_COLUMN).data() in ("retrieving", "queued"),
                    timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: panel.prefetch.status("1.2.999.1").state == "done", timeout=5000)
    panel.select(panel.model.entry_at(plastic_row).study_instance_uid)
    assert panel.retrieve_current() == 0  # the prior was fetched already


def test_delete_from_cache(qtbot, make_panel, tmp_path: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    from app.importer import import_paths
    from app.store import Cache

    with Cache.open(tmp_path / "small") as cache:
        import_paths(cache, [shared_data / "mr" / "single" / "MR_small.dcm", shared_data / "ct" / "single" /
                             "CT_small.dcm"])
        panel = make_panel(cache=cache)
        assert panel.model.rowCount() == 2
        victim = panel.model.entry_at(0).study_instance_uid
        panel.select(victim)
        panel.confirm = lambda question: False
        assert panel.delete_current() is None and cache.get_study(victim) is not None
        panel.confirm = lambda question: True
        handle = panel.delete_current()
        qtbot.waitUntil(lambda: handle.done, timeout=10_000)
        qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
        assert cache.get_study(victim) is None and panel.worklist.entry(victim) is None


def test_layout_and_shortcuts_are_remembered(qtbot, make_panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    settings.setValue("worklist/shortcuts/mark_read", "Ctrl+K")
    panel = make_panel(settings=settings, shortcuts={"retrieve": "Ctrl+G"})
    assert panel.actions_by_name["mark_read"].shortcut().toString() == "Ctrl+K"
    assert panel.actions_by_name["retrieve"].shortcut().toString() == "Ctrl+G"
    assert panel.actions_by_name["priority_stat"].shortcut().toString() == "Ctrl+1"
    panel.table.horizontalHeader().resizeSection(7, 333)
    panel.status_box.setCurrentIndex(panel.status_box.findData("to_read"))
    panel.shutdown()
    settings.sync()
    second = make_panel(settings=settings)
    assert second.table.horizontalHeader().sectionSize(7) == 333
    assert second.status_box.currentData() == "to_read"
    assert timedelta(0) < second.worklist.config.stat_target
