"""Section text areas of the report editor: headings, macro expansion (``.word`` + space/Enter), focus keys."""

from __future__ import annotations

import re
from typing import Callable, Mapping, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.reporting.model import SECTION_KEYS, SECTION_TITLES

_TRIGGER = re.compile(r"(?:^|(?<=\s))\.([a-z][a-z0-9_-]*)$")
EXPAND_KEYS = {Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Period, Qt.Key.Key_Comma}


class SectionEdit(QPlainTextEdit):
    """One section's text; typing ``.trigger`` then space/Enter/punctuation expands a macro in place.
    Tab moves to the next section (Ctrl+Tab inserts a tab)."""

    edited = Signal(str, str)  # section key, full text

    def __init__(self, key: str, macros: Callable[[], Mapping[str, str]], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.key, self._macros = key, macros
        self.setObjectName(f"section_{key}")
        self.setTabChangesFocus(True)
        self.setAccessibleName(SECTION_TITLES[key])
        self.textChanged.connect(lambda: self.edited.emit(self.key, self.toPlainText()))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        if event.key() in EXPAND_KEYS and not self.isReadOnly():
            self.expand_macro_at_cursor()
        super().keyPressEvent(event)

    def expand_macro_at_cursor(self) -> bool:
        """Replace a ``.trigger`` just before the cursor by its phrase; True if something was expanded."""
        cursor = self.textCursor()
        block_text = cursor.block().text()[: cursor.positionInBlock()]
        match = _TRIGGER.search(block_text)
        phrase = self._macros().get(match.group(1)) if match else None
        if not match or phrase is None:
            return False
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(match.group(0)))
        cursor.insertText(phrase)
        self.setTextCursor(cursor)
        return True

    def insert_line(self, text: str) -> None:
        """Insert ``text`` as its own line at the cursor (used for measurements and key images)."""
        cursor = self.textCursor()
        if cursor.positionInBlock() > 0:
            cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
            cursor.insertText("\n")
        cursor.insertText(text)
        self.setTextCursor(cursor)


class SectionsPanel(QWidget):
    """Every report section as a bold heading and a text area, in report order."""

    edited = Signal(str, str)

    def __init__(self, macros: Callable[[], Mapping[str, str]], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        bold = QFont()
        bold.setBold(True)
        self.edits: dict[str, SectionEdit] = {}
        for i, key in enumerate(SECTION_KEYS):
            heading = QLabel(f"&{i + 1} {SECTION_TITLES[key]}")
            heading.setFont(bold)
            edit = SectionEdit(key, macros, self)
            heading.setBuddy(edit)  # Alt+1..5 jumps to the section
            edit.setMinimumHeight(60 if key in ("clinical_information", "comparison") else 90)
            edit.edited.connect(self.edited)
            layout.addWidget(heading)
            layout.addWidget(edit, 3 if key == "findings" else 1)
            self.edits[key] = edit

    def set_sections(self, sections: Mapping[str, str], read_only: bool) -> None:
        """Show a report's text without emitting ``edited``."""
        for key, edit in self.edits.items():
            edit.blockSignals(True)
            edit.setPlainText(sections.get(key, ""))
            edit.setReadOnly(read_only)
            edit.setStyleSheet("QPlainTextEdit { background: palette(alternate-base); }" if read_only else "")
            edit.blockSignals(False)

    def texts(self) -> dict[str, str]:
        return {k: e.toPlainText() for k, e in self.edits.items()}

    def focused_or(self, key: str) -> SectionEdit:
        """The section with keyboard focus, else ``key``'s."""
        return next((e for e in self.edits.values() if e.hasFocus()), self.edits[key])
