"""Keyboard first: every reading command has one key, no two shortcuts of the window collide in one context,
the keys work on the image, they are listed in Help > Keyboard shortcuts, and user keys are saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from app.config import resolve_paths


def _window(qtbot, home: Path):  # type: ignore[no-untyped-def]
    from app.ui.main_window import MainWindow
    from app.workstation import Workstation

    paths = resolve_paths(str(home))
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    ws = Workstation(paths, "tester")
    win = MainWindow(ws)
    qtbot.addWidget(win)
    win.show()
    return win, ws


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    win, ws = _window(qtbot, tmp_path / "home")
    yield win
    win.close()
    ws.close()


def _open_ct(qtbot, window, shared_data: Path) -> str:  # type: ignore[no-untyped-def]
    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    (study,) = window.cache.list_studies()
    window.open_study(study.study_instance_uid, [])
    qtbot.waitUntil(lambda: window.viewer_area.viewer is not None and not window.bridge.running()
                    and window.viewer_area.viewer.active.model.has_image, timeout=60_000)
    return study.study_instance_uid


def test_no_two_shortcuts_collide_and_every_reading_command_has_a_key(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    from app.ui.reading_keys import COMMANDS
    from app.ui.shortcut_help import bindings, collisions

    assert collisions(window) == []
    _open_ct(qtbot, window, shared_data)  # the viewer (toolbar, menus) exists now too
    clashes = collisions(window)
    assert clashes == [], [(a.key, a.text, a.scope_name, b.text, b.scope_name) for a, b in clashes]
    keys = {b.key: b for b in bindings(window)}
    for name, *_ in COMMANDS:
        assert window.reading_actions[name].shortcut().toString(), name
    assert len({window.reading_actions[n].shortcut().toString() for n, *_ in COMMANDS}) == len(COMMANDS)
    signs = [b.text for b in bindings(window) if b.key == "Ctrl+Shift+S"]
    assert len(signs) == 1, signs  # one meaning only (it used to be claim and sign)
    assert "Ctrl+R" in keys and keys["Ctrl+R"].text == "Reset view"


def test_collision_detector_fails_on_a_real_clash(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QAction

    from app.ui.shortcut_help import collisions

    extra = QAction("Clash", window)
    extra.setShortcut(QKeySequence("F11"))  # window-wide, like View > Reading mode
    window.addAction(extra)
    assert any({a.text, b.text} == {"Clash", "Reading mode (full screen)"} for a, b in collisions(window))


def test_preset_layout_tool_and_reset_keys_act_on_the_image(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    _open_ct(qtbot, window, shared_data)
    viewer = window.viewer_area.viewer
    target = viewer.active.vtk
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    target.setFocus()
    qtbot.waitUntil(target.hasFocus, timeout=5000)
    qtbot.keyClick(target, Qt.Key.Key_1)  # Brain
    assert tuple(viewer.active.model.state.window) == (40.0, 80.0)
    qtbot.keyClick(target, Qt.Key.Key_4)  # Lung
    assert tuple(viewer.active.model.state.window) == (-600.0, 1500.0)
    qtbot.keyClick(target, Qt.Key.Key_D)
    assert viewer.tool == "length"
    qtbot.keyClick(target, Qt.Key.Key_I)
    assert viewer.active.model.state.invert
    qtbot.keyClick(target, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Reset (did nothing before)
    assert not viewer.active.model.state.invert
    qtbot.keyClick(viewer.active.vtk, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert viewer.layout_name == "2x2"


def test_help_lists_keys_and_user_keys_are_saved(qtbot, tmp_path: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from app.ui.reading_keys import COMMANDS

    win, ws = _window(qtbot, tmp_path / "home")
    dialog = win.show_shortcuts()
    texts = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0)]
    assert "Brain (40/80; non-CT: header window 1)" in texts and "Keyboard shortcuts" in texts
    assert len(dialog.keys()) == len(COMMANDS)
    qtbot.wait(100)
    dialog.grab().save(str(artifacts / "reading_room_shortcuts_dialog.png"))
    dialog.close()
    assert win.set_reading_keys({"tool_pan": "W"})  # W is the W/L tool: refused
    assert win.reading_actions["tool_pan"].shortcut().toString() == "P"
    assert win.set_reading_keys({"tool_pan": "Q"}) == []
    win.close()
    ws.close()
    again, ws2 = _window(qtbot, tmp_path / "home")
    assert again.reading_actions["tool_pan"].shortcut().toString() == "Q"
    again.close()
    ws2.close()


def test_value_under_the_cursor_shows_hu_and_pixel(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    from app.viewer.interaction import Pointer

    _open_ct(qtbot, window, shared_data)
    view = window.viewer_area.viewer.active
    model = view.model
    u, v = model.width / 2, model.height / 2
    changes = view.interaction.move(Pointer(u, v, "none"))
    view.apply(changes)
    x, y = model.transform().screen_to_image(u, v)
    expected = float(model.values()[round(y), round(x)])
    assert model.hover_text == f"({round(x)}, {round(y)}) {expected:.0f} HU"
    assert model.hover_text in model.corner_text(None).bottom_left


def test_measurement_undo_redo_keys(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    from app.viewer.interaction import Pointer

    uid = _open_ct(qtbot, window, shared_data)
    viewer = window.viewer_area.viewer
    view = viewer.active
    viewer.set_tool("length")
    for a, b in (((100, 100), (220, 160)), ((120, 300), (260, 330))):
        view.apply(view.interaction.press(Pointer(*a, "left")))
        view.apply(view.interaction.move(Pointer(*b, "left")))
        view.apply(view.interaction.release(Pointer(*b, "left")))
    ann = viewer.annotations(uid)
    assert len(ann.measurements) == 2
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    view.vtk.setFocus()
    qtbot.waitUntil(view.vtk.hasFocus, timeout=5000)
    qtbot.keyClick(view.vtk, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(ann.measurements) == 1
    qtbot.keyClick(view.vtk, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ann.measurements == []
    qtbot.keyClick(view.vtk, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(ann.measurements) == 1


def test_series_list_shows_thumbnails_and_brackets_step_series(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    ct = shared_data / "ct"
    handle = window.import_paths([ct / "philips_phantom_study1_1mm", ct / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=90_000)
    prior, study = sorted(window.cache.list_studies(), key=lambda s: s.study_time)
    window.open_study(study.study_instance_uid, [prior.study_instance_uid])
    viewer_ready = lambda: (window.viewer_area.viewer is not None and not window.bridge.running()  # noqa: E731
                            and window.viewer_area.viewer.active.model.has_image)
    qtbot.waitUntil(viewer_ready, timeout=60_000)
    series_list = window.viewer_area.viewer.series_list
    with_icons = [uid for uid, item in series_list.items.items() if not item.icon().isNull()]
    assert len(with_icons) >= 2
    viewer = window.viewer_area.viewer
    first = viewer.active.model.series.series_uid
    window.reading_actions["series_next"].trigger()
    qtbot.waitUntil(lambda: viewer.active.model.series.series_uid != first and not window.bridge.running(),
                    timeout=30_000)
    window.reading_actions["series_prev"].trigger()
    qtbot.waitUntil(lambda: viewer.active.model.series.series_uid == first and not window.bridge.running(),
                    timeout=30_000)


def test_right_click_opens_the_viewport_menu_right_drag_still_zooms(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPoint

    _open_ct(qtbot, window, shared_data)
    viewer = window.viewer_area.viewer
    vtk = viewer.active.vtk
    qtbot.mouseClick(vtk, Qt.MouseButton.RightButton, pos=QPoint(50, 50))
    menu = viewer.last_context_menu
    titles = [a.text() for a in menu.actions()]
    assert {"W/L", "Tools", "View", "Measurements"} <= set(titles)
    wl = next(a.menu() for a in menu.actions() if a.text() == "W/L")
    assert any(a.shortcut().toString() == "1" for a in wl.actions())  # keys shown in the menu
    menu.close()
