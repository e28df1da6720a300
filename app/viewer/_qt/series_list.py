"""Series list of the open study and its priors; items drag onto viewports."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QMimeData, QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from app.viewer.viewport_widget import SERIES_MIME

UID_ROLE = Qt.ItemDataRole.UserRole


class SeriesList(QListWidget):
    """One line per series; drag one onto a viewport to show it there."""

    def __init__(self) -> None:
        super().__init__()
        self.setDragEnabled(True)
        self.setMaximumWidth(230)
        self.setIconSize(QSize(64, 64))
        self.setWordWrap(True)
        self.summaries: dict[str, Any] = {}
        self.items: dict[str, QListWidgetItem] = {}

    def fill(self, current: Sequence[Any], priors: Sequence[tuple[Any, Sequence[Any]]]) -> None:
        self.clear()
        self.summaries.clear()
        self.items.clear()
        self._add_group("Current study", current)
        for study, series in priors:
            date = study.study_date or "?"
            self._add_group(f"Prior {date[:4]}-{date[4:6]}-{date[6:8]} {study.description}", series)

    def _add_group(self, title: str, series: Sequence[Any]) -> None:
        head = QListWidgetItem(title)
        head.setFlags(Qt.ItemFlag.NoItemFlags)
        self.addItem(head)
        for s in series:
            text = f"  {s.modality} {s.series_number if s.series_number is not None else ''} {s.description} ({s.num_instances})"
            item = QListWidgetItem(text)
            item.setData(UID_ROLE, s.series_instance_uid)
            self.summaries[s.series_instance_uid] = s
            self.items[s.series_instance_uid] = item
            self.addItem(item)

    def set_thumbnails(self, thumbs: dict[str, Any]) -> int:
        """Show (H, W, 3) uint8 thumbnails beside their series; returns how many were set."""
        count = 0
        for uid, pixels in thumbs.items():
            item = self.items.get(uid)
            if item is None or pixels is None:
                continue
            h, w = pixels.shape[:2]
            image = QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            item.setIcon(QIcon(QPixmap.fromImage(image)))
            count += 1
        return count

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:  # noqa: N802 (Qt API)
        mime = QMimeData()
        if items:
            mime.setData(SERIES_MIME, str(items[0].data(UID_ROLE) or "").encode())
        return mime

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [SERIES_MIME]
