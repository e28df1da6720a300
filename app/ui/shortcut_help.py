"""Every keyboard shortcut of a window (QActions and QShortcuts), their collisions, and Help > Keyboard shortcuts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QKeySequenceEdit, QLabel, QMenu, QMenuBar, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

_WINDOW_WIDE = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)


@dataclass(frozen=True)
class Binding:
    """One key of a window: what it does and where it is active (scope None = the whole window)."""

    key: str
    text: str
    scope: Optional[QWidget]
    scope_name: str
    source: Any


def _scopes(obj: Any, context: Qt.ShortcutContext) -> list[Optional[QWidget]]:
    if context in _WINDOW_WIDE:
        return [None]
    if isinstance(obj, QShortcut):
        return [obj.parent()]
    widgets = [w for w in obj.associatedObjects() if isinstance(w, QWidget) and not isinstance(w, (QMenu, QMenuBar))]
    return widgets or [None]


_PLACES = {"readingArea": "Images", "worklistPanel": "Worklist", "reportArea": "Report"}


def _name(scope: Optional[QWidget]) -> str:
    """Where a key works, in the reader's words (the nearest named panel)."""
    if scope is None:
        return "Everywhere"
    w: Optional[QWidget] = scope
    while w is not None and w.objectName() not in _PLACES:
        w = w.parentWidget()
    return _PLACES[w.objectName()] if w is not None else (scope.objectName() or type(scope).__name__)


def bindings(window: QWidget) -> list[Binding]:
    """All non-empty shortcuts of ``window`` (alternates included)."""
    out: list[Binding] = []
    for obj in [*window.findChildren(QAction), *window.findChildren(QShortcut)]:
        keys = obj.shortcuts() if isinstance(obj, QAction) else [obj.key()]
        text = obj.text().replace("&", "") if isinstance(obj, QAction) else (obj.objectName() or obj.whatsThis()
                                                                              or "shortcut")
        for key in keys:
            portable = key.toString(QKeySequence.SequenceFormat.PortableText)
            if portable:
                out += [Binding(portable, text, s, _name(s), obj) for s in _scopes(obj, obj.context()
                        if isinstance(obj, QShortcut) else obj.shortcutContext())]
    return out


def _overlap(a: Optional[QWidget], b: Optional[QWidget]) -> bool:
    if a is None or b is None or a is b:
        return True
    return a.isAncestorOf(b) or b.isAncestorOf(a)


def collisions(window: QWidget) -> list[tuple[Binding, Binding]]:
    """Pairs of different commands on one key whose scopes overlap (Qt calls them ambiguous and runs neither)."""
    found = bindings(window)
    out = []
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            if a.key == b.key and a.source is not b.source and _overlap(a.scope, b.scope):
                out.append((a, b))
    return out


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts (also on ``?``): every key of the window; reading keys are editable here."""

    def __init__(self, window: QWidget, editable: Mapping[str, QAction], on_save: Callable[[dict[str, str]], None]) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(760, 640)
        self._on_save, self._edits = on_save, {}
        by_action = {id(a): name for name, a in editable.items()}
        rows = sorted(bindings(window), key=lambda b: (b.scope_name, b.text))
        extra = [("Scroll images", "Wheel, arrows, PgUp/PgDn, Home/End"), ("Zoom", "Right drag, Ctrl+wheel"),
                 ("Pan", "Middle drag"), ("Delete measurement", "Delete"), ("Cancel measurement, else leave reading mode", "Escape")]
        table = QTableWidget(len(rows) + len(extra), 3, self)
        table.setObjectName("shortcutsTable")
        table.setHorizontalHeaderLabels(["Command", "Where", "Key"])
        table.verticalHeader().hide()
        for r, b in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(b.text))
            table.setItem(r, 1, QTableWidgetItem(b.scope_name))
            name = by_action.get(id(b.source))
            if name is not None and name not in self._edits:
                edit = QKeySequenceEdit(QKeySequence(b.key), table)
                self._edits[name] = edit
                table.setCellWidget(r, 2, edit)
            else:
                table.setItem(r, 2, QTableWidgetItem(b.key))
        for r, (text, key) in enumerate(extra, start=len(rows)):
            for c, value in enumerate((text, "images", key)):
                table.setItem(r, c, QTableWidgetItem(value))
        table.resizeColumnsToContents()
        self.table = table
        self.message = QLabel("Click a reading key to change it, then Save.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(table)
        box.addWidget(self.message)
        box.addWidget(buttons)

    def keys(self) -> dict[str, str]:
        return {n: e.keySequence().toString(QKeySequence.SequenceFormat.PortableText) for n, e in self._edits.items()}

    def save(self) -> None:
        self._on_save(self.keys())
        self.accept()
