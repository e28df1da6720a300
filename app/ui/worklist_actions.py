"""Actions of the worklist panel: names, default shortcuts (overridable from settings), context menu."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from app.worklist import Priority

if TYPE_CHECKING:
    from app.workstation import Workstation

# name -> (menu text, default shortcut); shortcuts are read from settings group "worklist/shortcuts"
ACTIONS: dict[str, tuple[str, str]] = {
    "open": ("&Open with priors", "Return"),
    "start": ("&Start reading (claim)", "Ctrl+Return"),  # Ctrl+Shift+S is the report's Sign
    "retrieve": ("&Retrieve now", "Ctrl+Shift+R"),
    "priority_stat": ("Priority: &STAT", "Ctrl+1"),
    "priority_urgent": ("Priority: &urgent", "Ctrl+2"),
    "priority_routine": ("Priority: &routine", "Ctrl+3"),
    "priority_auto": ("Priority: from &header / rules", "Ctrl+0"),
    "mark_read": ("&Mark read", "Ctrl+Shift+M"),
    "release": ("Re&lease claim", ""),
    "delete": ("&Delete from cache...", "Shift+Del"),
    "refresh": ("Re&fresh worklist", ""),  # the main window's File > Refresh owns F5
    "search": ("Searc&h worklist", "Ctrl+F"),
}
PRIORITY_ACTIONS = {"priority_stat": Priority.STAT, "priority_urgent": Priority.URGENT,
                    "priority_routine": Priority.ROUTINE, "priority_auto": None}
SHORTCUT_GROUP = "worklist/shortcuts"
log = logging.getLogger(__name__)


def shortcut_map(settings: QSettings | None, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Default shortcuts, then those saved in ``settings``, then explicit ``overrides``."""
    from app.ui.reading_keys import saved_keys

    keys = saved_keys(settings, SHORTCUT_GROUP, {name: default for name, (_, default) in ACTIONS.items()})
    keys.update({k: v for k, v in (overrides or {}).items() if k in keys})
    return keys


def build_actions(owner: QWidget, slots: Mapping[str, Callable[[], Any]], shortcuts: Mapping[str, str]) -> dict[str, QAction]:
    """One QAction per name, active while the panel (or a child) has focus."""
    actions: dict[str, QAction] = {}
    for name, (text, _) in ACTIONS.items():
        action = QAction(text, owner)
        action.setObjectName(f"worklist_{name}")
        if shortcuts.get(name):
            action.setShortcut(QKeySequence(shortcuts[name]))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slots[name])
        owner.addAction(action)
        actions[name] = action
    return actions


def apply_shortcuts(actions: Mapping[str, QAction], shortcuts: Mapping[str, str]) -> None:
    """Change shortcuts at run time (e.g. from a preferences dialog)."""
    for name, key in shortcuts.items():
        if name in actions:
            actions[name].setShortcut(QKeySequence(key))


def save_shortcuts(settings: QSettings, shortcuts: Mapping[str, str]) -> None:
    settings.beginGroup(SHORTCUT_GROUP)
    for name, key in shortcuts.items():
        settings.setValue(name, key)
    settings.endGroup()


def context_menu(parent: QWidget, actions: Mapping[str, QAction], *, local: bool, can_retrieve: bool) -> QMenu:
    """The row context menu: open, start, retrieve now, change priority, mark read, release, delete."""
    menu = QMenu(parent)
    menu.addAction(actions["open"])
    menu.addAction(actions["start"])
    actions["retrieve"].setEnabled(can_retrieve)
    menu.addAction(actions["retrieve"])
    sub = menu.addMenu("Change &priority")
    for name in PRIORITY_ACTIONS:
        sub.addAction(actions[name])
    menu.addAction(actions["mark_read"])
    menu.addAction(actions["release"])
    menu.addSeparator()
    actions["delete"].setEnabled(local)
    menu.addAction(actions["delete"])
    return menu


class PrefetchRelay(QObject):
    """Carries prefetch updates from worker threads to the main thread."""

    prefetch = Signal(object)


def load_worklist(ws: "Workstation", remote_source: Optional[Callable[[], Iterable[Any]]],
                  progress: Any = None, cancel: Any = None) -> list[Any]:
    """Task: poll the remote source (failures only logged), then list the worklist (``Workstation``)."""
    remote = None
    if remote_source is not None:
        try:
            remote = list(remote_source())
        except Exception as exc:  # a node down must not empty the worklist
            log.warning("remote worklist query failed: %s", exc)
    return ws.worklist_entries(remote, progress=progress, cancel=cancel)


def delete_study(ws: "Workstation", study_uid: str, progress: Any = None, cancel: Any = None) -> bool:
    """Task: delete one study (the workstation audits it and takes it off the worklist)."""
    return ws.delete_study(study_uid, command="worklist delete")
