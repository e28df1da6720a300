"""Series list of the open study and its priors; items drag onto viewports."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from app.viewer.viewport_widget import SERIES_MIME

UID_ROLE = Qt.ItemDataRole.UserRole


class SeriesList(QListWidget):
    """One line per series; drag one onto a viewport to show it there."""

    def __init__(self) -> None:
        super().__init__()
        self.setDragEnabled(True)
        self.setMaximumWidth(230)
        self.summaries: dict[str, Any] = {}

    def fill(self, current: Sequence[Any], priors: Sequence[tuple[Any, Sequence[Any]]]) -> None:
        self.clear()
        self.summaries.clear()
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
            self.addItem(item)

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:  # noqa: N802 (Qt API)
        mime = QMimeData()
        if items:
            mime.setData(SERIES_MIME, str(items[0].data(UID_ROLE) or "").encode())
        return mime

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [SERIES_MIME]
