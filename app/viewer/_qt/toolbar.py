"""The viewer's toolbar: tools, presets, layouts and view actions (Qt)."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

from app.viewer.layout import LAYOUTS

TOOL_LABELS = (("window", "W/L"), ("pan", "Pan"), ("zoom", "Zoom"), ("length", "Length"), ("angle", "Angle"),
               ("cobb", "Cobb"), ("ellipse", "Ellipse"), ("rect", "Rect"), ("probe", "Probe"), ("arrow", "Arrow"))


def build_toolbar(viewer: Any) -> QToolBar:
    """Toolbar wired to ``viewer`` (a ViewerWidget)."""
    bar = QToolBar("Viewer")
    group = QActionGroup(bar)
    viewer.tool_actions = {}
    for tool, label in TOOL_LABELS:
        action = QAction(label, bar, checkable=True)
        action.triggered.connect(lambda _=False, t=tool: viewer.set_tool(t))
        group.addAction(action)
        bar.addAction(action)
        viewer.tool_actions[tool] = action
    viewer.tool_actions["window"].setChecked(True)
    bar.addSeparator()
    viewer.presets_menu = QMenu("Presets", bar)
    viewer.presets_menu.aboutToShow.connect(viewer.fill_presets_menu)
    _menu_button(bar, "Presets", viewer.presets_menu)
    layouts = QMenu("Layout", bar)
    for name in LAYOUTS:
        layouts.addAction(name, lambda n=name: viewer.set_layout(n))
    _menu_button(bar, "Layout", layouts)
    bar.addSeparator()
    simple: list[tuple[str, str, Callable[[], Any]]] = [
        ("Invert", "I", lambda: viewer.key_to_active("I")),
        ("Rotate \u21bb", "R", lambda: viewer.key_to_active("R")),
        ("Rotate \u21ba", "L", lambda: viewer.key_to_active("L")),
        ("Flip H", "H", lambda: viewer.key_to_active("H")),
        ("Flip V", "V", lambda: viewer.key_to_active("V")),
        ("Fit", "F", lambda: viewer.key_to_active("F")),
        ("1:1", "1", lambda: viewer.key_to_active("1")),
        ("Reset", "Ctrl+R", viewer.reset_active),
    ]
    for label, shortcut, slot in simple:
        action = QAction(label, bar)
        action.setToolTip(f"{label} ({'X' if shortcut == '1' else shortcut})")
        action.triggered.connect(slot)
        bar.addAction(action)
    bar.addSeparator()
    viewer.cine_action = QAction("Cine \u25b6", bar, checkable=True)
    viewer.cine_action.setToolTip("Cine (Space)")  # keys: app.ui.reading_keys, on the reading area
    viewer.cine_action.toggled.connect(viewer.set_cine)
    bar.addAction(viewer.cine_action)
    viewer.sync_action = QAction("Sync", bar, checkable=True, checked=True)
    viewer.sync_action.toggled.connect(viewer.set_sync)
    bar.addAction(viewer.sync_action)
    viewer.reflines_action = QAction("Ref lines", bar, checkable=True, checked=True)
    viewer.reflines_action.toggled.connect(lambda on: viewer.update_reference_lines())
    bar.addAction(viewer.reflines_action)
    viewer.overlays_action = QAction("Overlays", bar, checkable=True, checked=True)
    viewer.overlays_action.toggled.connect(viewer.set_overlays)
    bar.addAction(viewer.overlays_action)
    key = QAction("Key image", bar)
    key.triggered.connect(viewer.toggle_key_image)
    bar.addAction(key)
    export = QAction("Export PNG", bar)
    export.triggered.connect(viewer.export_png_dialog)
    bar.addAction(export)
    return bar


def _menu_button(bar: QToolBar, text: str, menu: QMenu) -> None:
    button = QToolButton(bar)
    button.setText(text)
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    bar.addWidget(button)
