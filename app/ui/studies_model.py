"""Table model over the cache's study summaries (the worklist issue replaces it with the reading worklist)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

# (header, attribute)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Patient", "patient_name"),
    ("Patient ID", "patient_id"),
    ("Study date", "study_date"),
    ("Modalities", "modalities"),
    ("Description", "description"),
    ("Accession", "accession"),
    ("Series", "num_series"),
    ("Images", "num_instances"),
)

Index = QModelIndex | QPersistentModelIndex


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "/".join(str(v) for v in value)
    return str(value)


def _date(value: str) -> str:
    """DICOM DA (YYYYMMDD) shown as YYYY-MM-DD."""
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


class StudiesModel(QAbstractTableModel):
    """One row per cached study; numeric columns sort numerically."""

    def __init__(self, parent: Optional[Any] = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def set_studies(self, studies: Sequence[Any]) -> None:
        """Replace the rows (called on the main thread after a refresh)."""
        self.beginResetModel()
        self._rows = list(studies)
        self.endResetModel()

    def study_at(self, row: int) -> Any:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = getattr(self._rows[index.row()], COLUMNS[index.column()][1], None)
        if role == Qt.ItemDataRole.DisplayRole:
            text = _text(value)
            return _date(text) if COLUMNS[index.column()][1] == "study_date" else text
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return value if isinstance(value, (int, float)) else _text(value).lower()
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
