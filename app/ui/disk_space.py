"""A status-bar warning shown while the disk holding the data dir runs low (polls :mod:`app.workstation.disk_space`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QMainWindow

from app.workstation.disk_space import disk_space

POLL_MS = 30_000


class DiskSpaceWarning(QLabel):
    """Red label, permanent in the status bar, visible only while space is low; checked every 30 s."""

    def __init__(self, path: Path, poll_ms: int = POLL_MS) -> None:
        super().__init__()
        self.setObjectName("diskSpaceWarning")
        self.setStyleSheet("color: white; background: #b00020; padding: 1px 6px; font-weight: bold;")
        self._path = Path(path)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(poll_ms)
        self.refresh()

    def refresh(self) -> None:
        """Check now (a statvfs call: cheap enough for the main thread)."""
        try:
            text = disk_space(self._path).message()
        except OSError as exc:
            text = f"Cannot check free disk space for {self._path}: {exc.strerror or exc}"
        self.setText(text)
        self.setToolTip(text)
        self.setVisible(bool(text))


def attach_disk_warning(window: QMainWindow, path: Path) -> DiskSpaceWarning:
    """Add the warning to ``window``'s status bar (the one-line hookup in MainWindow.__init__)."""
    warning = DiskSpaceWarning(path)
    window.statusBar().addPermanentWidget(warning)
    return warning
