"""Reading mode hides the menu bar; the menu commands' keys still work there (View > MPR, Ctrl+Alt+2)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.gui.conftest import main_window, wait_study_open


def test_menu_keys_work_in_reading_mode(qtbot, tmp_path: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    def prepare(ws):  # type: ignore[no-untyped-def]
        ws.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted"])

    with main_window(qtbot, tmp_path / "home", prepare=prepare) as win:
        uid = win.ws.cache.list_studies()[0].study_instance_uid
        win.open_in_reading_mode(uid)
        wait_study_open(qtbot, win, uid)
        assert not win.menuBar().isVisible()
        view = win.viewer_area.viewer.viewports[0]
        view.setFocus()
        assert win.viewer_area.currentIndex() == 0
        qtbot.keyClick(view.surface, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda: win.viewer_area.currentIndex() == 1, timeout=10_000)
