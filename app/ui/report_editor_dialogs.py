"""Dialogs of the report editor: sign (PKCS#12 file + password) and the critical result's communication (who
was told, role, how, when, read-back; the order's ordering physician and callback number shown)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateTimeEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit,
    QPushButton, QWidget,
)

from app.reporting.critical import METHODS
from app.reporting.model import CriticalNotice


class SignDialog(QDialog):
    """Choose the PKCS#12 file and type its password; the password never leaves this dialog except
    through :meth:`password` (read once by the editor)."""

    def __init__(self, p12: str = "", summary: str = "", parent: Optional[QWidget] = None, *,
                 allow_preliminary: bool = False, review_of: str = "") -> None:
        """``allow_preliminary``: offer signing a preliminary read; ``review_of``: the preliminary reader whose
        read this signature finalises (the review, none / minor / major discrepancy, is asked)."""
        super().__init__(parent)
        self.setWindowTitle("Sign report")
        form = QFormLayout(self)
        if summary:
            form.addRow(QLabel(summary))
        self.preliminary = QCheckBox("Sign as a &preliminary read (another radiologist finalises it)")
        self.preliminary.setObjectName("sign_preliminary")
        self.preliminary.setVisible(allow_preliminary)
        self.allow_preliminary = allow_preliminary
        form.addRow(self.preliminary)
        self.review, self.review_note = QComboBox(objectName="sign_review"), QLineEdit(objectName="sign_review_note")
        for label, value in (("Agree (no discrepancy)", "none"), ("Minor discrepancy", "minor"),
                             ("Major discrepancy", "major")):
            self.review.addItem(label, value)
        if review_of:
            form.addRow(QLabel(f"Preliminary read by {review_of}: your review"))
            form.addRow("&Review:", self.review)
            form.addRow("Discrepancy &note:", self.review_note)
        self.reviewing = bool(review_of)
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

    def options(self) -> dict[str, object]:
        """What the use case takes besides the identity: preliminary, review, review_note."""
        return {"preliminary": self.allow_preliminary and self.preliminary.isChecked(),
                "review": self.review.currentData() if self.reviewing else "",
                "review_note": self.review_note.text().strip() if self.reviewing else ""}

    def password(self) -> bytes:
        """The typed password (the field is cleared)."""
        secret = self.password_edit.text().encode("utf-8")
        self.password_edit.clear()
        return secret


class NoticeDialog(QDialog):
    """Record the communication of a critical result: to whom (and their role), how, when, read-back. The
    ordering physician and callback number from the order are shown (``contact``) and offered as recipient."""

    def __init__(self, recorded_by: str, parent: Optional[QWidget] = None, *, physician: str = "",
                 callback: str = "", reason: str = "") -> None:
        super().__init__(parent)
        self.recorded_by = recorded_by
        self.setWindowTitle("Critical result communicated")
        form = QFormLayout(self)
        if reason:
            form.addRow(QLabel(reason, wordWrap=True))
        self.contact = QLabel(contact_text(physician, callback), objectName="notice_contact")
        self.contact.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Ordered by:", self.contact)
        self.recipient = QLineEdit(physician)
        self.recipient.setObjectName("notice_recipient")
        self.recipient.setPlaceholderText("name of the person told")
        self.role = QLineEdit("ordering physician" if physician else "")
        self.role.setObjectName("notice_role")
        self.role.setPlaceholderText("role (ED physician, ward nurse...)")
        self.method = QComboBox()
        self.method.addItems(METHODS)
        self.when = QDateTimeEdit(QDateTime.currentDateTime())
        self.when.setCalendarPopup(True)
        self.read_back = QCheckBox("The recipient &read the finding back")
        self.read_back.setObjectName("notice_read_back")
        self.note = QLineEdit()
        form.addRow("&Told:", self.recipient)
        form.addRow("&Role:", self.role)
        form.addRow("&How:", self.method)
        form.addRow("&When:", self.when)
        form.addRow("", self.read_back)
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

    def values(self) -> dict[str, object]:
        """The communication as the use case takes it (``Workstation.communicate``)."""
        when = self.when.dateTime().toPython().astimezone(timezone.utc)
        return {"recipient": self.recipient.text().strip(), "method": self.method.currentText(),
                "role": self.role.text().strip(), "when": when.isoformat(timespec="seconds"),
                "read_back": self.read_back.isChecked(), "note": self.note.text().strip()}

    def notice(self) -> CriticalNotice:
        v = self.values()
        return CriticalNotice(str(v["recipient"]), str(v["method"]), str(v["when"]), self.recorded_by,
                              str(v["note"]), str(v["role"]), bool(v["read_back"]))


def contact_text(physician: str, callback: str) -> str:
    """"Dr Gregory House · callback +41 21 555 0101" (what the order says; "not in the order" otherwise)."""
    parts = [physician, f"callback {callback}" if callback else ""]
    return " · ".join(p for p in parts if p) or "not in the order"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
