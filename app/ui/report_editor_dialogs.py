"""Dialogs of the report editor: sign (PKCS#12 file + password) and critical-finding notice (who was told)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QComboBox, QDateTimeEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QWidget,
)

from app.reporting.model import CriticalNotice

METHODS = ("phone", "in person", "secure message", "pager", "video call")


class SignDialog(QDialog):
    """Choose the PKCS#12 file and type its password; the password never leaves this dialog except
    through :meth:`password` (read once by the editor)."""

    def __init__(self, p12: str = "", summary: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign report")
        form = QFormLayout(self)
        if summary:
            form.addRow(QLabel(summary))
        self.p12_edit = QLineEdit(p12)
        self.p12_edit.setObjectName("p12_path")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.p12_edit, 1)
        row.addWidget(browse)
        form.addRow("&Certificate (PKCS#12):", row)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("p12_password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Password:", self.password_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        (self.password_edit if p12 else self.p12_edit).setFocus()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "PKCS#12 file", self.p12_edit.text(),
                                              "PKCS#12 (*.p12 *.pfx);;All files (*)")
        if path:
            self.p12_edit.setText(path)

    def p12(self) -> Path:
        return Path(self.p12_edit.text().strip())

    def password(self) -> bytes:
        """The typed password (the field is cleared)."""
        secret = self.password_edit.text().encode("utf-8")
        self.password_edit.clear()
        return secret


class NoticeDialog(QDialog):
    """Record who was told about a critical finding, how and when."""

    def __init__(self, recorded_by: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.recorded_by = recorded_by
        self.setWindowTitle("Critical finding communicated")
        form = QFormLayout(self)
        self.recipient = QLineEdit()
        self.recipient.setObjectName("notice_recipient")
        self.recipient.setPlaceholderText("name and role of the person told")
        self.method = QComboBox()
        self.method.setEditable(True)
        self.method.addItems(METHODS)
        self.when = QDateTimeEdit(QDateTime.currentDateTime())
        self.when.setCalendarPopup(True)
        self.note = QLineEdit()
        form.addRow("&Told:", self.recipient)
        form.addRow("&How:", self.method)
        form.addRow("&When:", self.when)
        form.addRow("&Note:", self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept_if_named)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept_if_named(self) -> None:
        if self.recipient.text().strip():
            self.accept()
        else:
            self.recipient.setFocus()

    def notice(self) -> CriticalNotice:
        when = self.when.dateTime().toPython().astimezone(timezone.utc)
        return CriticalNotice(self.recipient.text().strip(), self.method.currentText().strip() or "phone",
                              when.isoformat(timespec="seconds"), self.recorded_by, self.note.text().strip())


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
