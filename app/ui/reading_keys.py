"""Reading commands with one key each: W/L presets, layouts, tools, series steps, view operations.

The actions live on the reading area (context: the reading area and its children, so typing in the
report never moves an image); defaults below, user keys saved in window.ini group ``shortcuts``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence

from app.viewer.layout import LAYOUTS
from app.viewer.presets import CT_PRESETS

SHORTCUT_GROUP = "shortcuts"
Command = tuple[str, str, str, str, Callable[[Any], None]]  # name, menu, text, default key, slot(viewer)

_TOOLS = (("window", "W/L", "W"), ("pan", "Pan", "P"), ("zoom", "Zoom", "Z"), ("length", "Length", "D"),
          ("angle", "Angle", "A"), ("cobb", "Cobb angle", "C"), ("ellipse", "Ellipse ROI", "E"),
          ("rect", "Rectangle ROI", "Shift+E"), ("probe", "HU probe", "U"), ("arrow", "Arrow", "Shift+A"))
_VIEW = (("invert", "Invert", "I"), ("rotate_cw", "Rotate right", "R"), ("rotate_ccw", "Rotate left", "L"),
         ("flip_h", "Flip horizontal", "H"), ("flip_v", "Flip vertical", "V"), ("fit", "Fit to viewport", "F"),
         ("pixels", "1:1 pixels", "X"))
_VIEW_KEYS = {"invert": "I", "rotate_cw": "R", "rotate_ccw": "L", "flip_h": "H", "flip_v": "V", "fit": "F",
              "pixels": "X"}


def _commands() -> list[Command]:
    out: list[Command] = [("preset_0", "W/L", "Header default window", "0",
                           lambda v: v.apply_preset_key("0"))]
    for i, (name, (c, w)) in enumerate(CT_PRESETS):
        out.append((f"preset_{i + 1}", "W/L", f"{name} ({c:g}/{w:g}; non-CT: header window {i + 1})",
                    str(i + 1), lambda v, k=str(i + 1): v.apply_preset_key(k)))
    out.append(("preset_9", "W/L", "Auto window", "9", lambda v: v.apply_preset_key("9")))
    for i, name in enumerate(LAYOUTS):
        out.append((f"layout_{name}", "Layout", f"Layout {name}", f"Ctrl+{i + 1}",
                    lambda v, n=name: v.set_layout(n)))
    for tool, text, key in _TOOLS:
        out.append((f"tool_{tool}", "Tools", text, key, lambda v, t=tool: v.set_tool(t)))
    out += [("page_next", "Layout", "Next protocol page (e.g. the priors)", "N", lambda v: v.show_page(1)),
            ("page_prev", "Layout", "Previous protocol page", "Shift+N", lambda v: v.show_page(-1)),
            ("save_protocol", "Layout", "Save this layout as a protocol...", "Ctrl+Shift+P",
             lambda v: v.save_protocol_dialog())]
    out += [("series_next", "Series", "Next series", "]", lambda v: v.step_series(1)),
            ("series_prev", "Series", "Previous series", "[", lambda v: v.step_series(-1))]
    for name, text, key in _VIEW:
        out.append((name, "View", text, key, lambda v, k=_VIEW_KEYS[name]: v.key_to_active(k)))
    out += [("reset", "View", "Reset view", "Ctrl+R", lambda v: v.reset_active()),
            ("cine", "View", "Cine play/stop", "Space", lambda v: v.cine_action.toggle()),
            ("sync", "View", "Sync viewports", "Y", lambda v: v.sync_action.toggle()),
            ("reflines", "View", "Reference lines", "G", lambda v: v.reflines_action.toggle()),
            ("overlays", "View", "Overlays", "O", lambda v: v.overlays_action.toggle()),
            ("key_image", "View", "Mark key image", "K", lambda v: v.toggle_key_image()),
            ("maximise", "View", "Maximise active viewport", "M", lambda v: v._toggle_maximised(v.active)),
            ("export_png", "View", "Export view as PNG", "Ctrl+E", lambda v: v.export_png_dialog()),
            ("slab", "View", "Thick slab: MIP, MinIP, average, off (CT)", "T", lambda v: v.cycle_slab()),
            ("slab_thicker", "View", "Thicker slab", ".", lambda v: v.change_slab(1)),
            ("slab_thinner", "View", "Thinner slab", ",", lambda v: v.change_slab(-1)),
            ("measurements", "Measurements", "Edit measurements...", "Ctrl+L", lambda v: v.show_measurements()),
            ("undo", "Measurements", "Undo measurement", "Ctrl+Z", lambda v: v.undo_measurement()),
            ("redo", "Measurements", "Redo measurement", "Ctrl+Shift+Z", lambda v: v.undo_measurement(redo=True))]
    return out


COMMANDS: list[Command] = _commands()
DEFAULTS: dict[str, str] = {c[0]: c[3] for c in COMMANDS}
# Window-wide keys (active everywhere, also while typing a report or on the panels' screen); same group.
WINDOW_DEFAULTS: dict[str, str] = {"lock": "Ctrl+Alt+L"}


def saved_keys(settings: QSettings | None, group: str, defaults: Mapping[str, str]) -> dict[str, str]:
    """``defaults`` overridden by the keys the user saved in ``settings`` group ``group`` (known names only)."""
    keys = dict(defaults)
    if settings is not None:
        settings.beginGroup(group)
        for name in settings.childKeys():
            if name in keys:
                keys[name] = str(settings.value(name) or "")
        settings.endGroup()
    return keys


def load_keys(settings: QSettings | None) -> dict[str, str]:
    """Default keys overridden by the user's (window.ini group ``shortcuts``)."""
    return saved_keys(settings, SHORTCUT_GROUP, DEFAULTS)


def save_keys(settings: QSettings, keys: Mapping[str, str]) -> None:
    settings.beginGroup(SHORTCUT_GROUP)
    for name, key in keys.items():
        if name in DEFAULTS or name in WINDOW_DEFAULTS:
            settings.setValue(name, key)
    settings.endGroup()


def build_reading_actions(area: Any, keys: Mapping[str, str]) -> dict[str, QAction]:
    """One QAction per command on ``area`` (a ReadingArea); each acts on the area's viewer when one is open."""
    actions: dict[str, QAction] = {}
    for name, _menu, text, _default, slot in COMMANDS:
        action = QAction(text, area)
        action.setObjectName(f"reading_{name}")
        if keys.get(name):
            action.setShortcut(QKeySequence(keys[name]))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _=False, s=slot: area.viewer is not None and s(area.viewer))
        area.addAction(action)
        actions[name] = action
    return actions


def context_groups(actions: Mapping[str, QAction]) -> dict[str, list[QAction]]:
    """The reading actions by menu group (the viewports' right-click menu)."""
    groups: dict[str, list[QAction]] = {}
    for name, group, *_ in COMMANDS:
        groups.setdefault(group, []).append(actions[name])
    return groups


def fill_menu(menu_bar: Any, actions: Mapping[str, QAction]) -> Any:
    """The Image menu: one submenu per group (W/L, Layout, Tools, Series, View)."""
    image = menu_bar.addMenu("&Image")
    subs: dict[str, Any] = {}
    for name, group, *_ in COMMANDS:
        if group not in subs:
            subs[group] = image.addMenu(group)
        subs[group].addAction(actions[name])
    return image


def build_lock_action(window: Any, slot: Callable[[], Any], settings: QSettings | None) -> QAction:
    """Lock the screen (default Ctrl+Alt+L, user key ``shortcuts/lock``): an application-wide action on ``window``."""
    key = saved_keys(settings, SHORTCUT_GROUP, WINDOW_DEFAULTS)["lock"]
    action = QAction("Lock the screen", window)
    action.setObjectName("session_lock")
    if key:
        action.setShortcut(QKeySequence(key))
    action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    action.triggered.connect(lambda _=False: slot())
    window.addAction(action)
    return action
