"""File > Group reading...: the group database this workstation joins (saved in the config folder, used
from the next start), with a connection test off the main thread; empty: a lone reader."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
                               QWidget)

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

PLACEHOLDER = "postgresql://reader@db.example.org:5432/telerad"


class GroupSettingsDialog(QDialog):
    def __init__(self, window: "MainWindow", parent: QWidget | None = None) -> None:
        from app.workstation import group_config

        super().__init__(parent or window)
        self.window_ = window
        self.setWindowTitle("Group reading")
        self.url = QLineEdit(group_config.saved(window.ws).url, placeholderText=PLACEHOLDER)
        self.url.setMinimumWidth(460)
        self.status = QLabel(self._current(), wordWrap=True)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test)
        form = QFormLayout()
        form.addRow("Group database", self.url)
        form.addRow("", self.test_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Readers of a group share one worklist on PostgreSQL. Leave empty to read alone. "
                                "A password is better kept in ~/.pgpass than in the URL.", wordWrap=True))
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def _current(self) -> str:
        from app.workstation.group_config import configured_url

        url = configured_url(self.window_.ws)
        if getattr(self.window_.ws, "group_url", None):
            return "This run uses the group given by --group (or TELERAD_GROUP)."
        return "Now: group reading." if url else "Now: reading alone."

    def test(self) -> None:
        from app.workstation.group_config import probe

        self.test_button.setEnabled(False)
        self.status.setText("Connecting...")
        self.window_.bridge.submit("Testing the group database", probe, self.url.text(),
                                   on_success=lambda text: self._tested(f"Connected: {text}"),
                                   on_failure=lambda exc: self._tested(str(exc)))

    def _tested(self, text: str) -> None:
        self.test_button.setEnabled(True)
        self.status.setText(text)

    def save(self) -> None:
        from app.workstation import group_config

        try:
            config = group_config.save(self.window_.ws, self.url.text())
        except (ValueError, OSError) as exc:
            self.status.setText(f"Not saved: {exc}")
            return
        self.window_.statusBar().showMessage(
            "Group reading from the next start" if config.url else "Reading alone from the next start", 10000)
        self.accept()


def open_group_settings(window: "MainWindow") -> Any:
    dialog = GroupSettingsDialog(window)
    window.group_settings_dialog = dialog
    dialog.open()
    return dialog
