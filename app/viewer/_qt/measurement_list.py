"""Measurements > Edit measurements: the study's measurements in a list; go to, relabel or delete each.

Every change is a step of the viewer's undo history (Ctrl+Z brings a deleted measurement back).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from app.viewer.measurements import evaluate

_KINDS = {"length": "Length", "angle": "Angle", "cobb": "Cobb angle", "ellipse": "Ellipse ROI",
          "rect": "Rectangle ROI", "probe": "Value", "arrow": "Arrow"}


class MeasurementList(QDialog):
    """One row per measurement of the active study: kind, result, image, label (editable)."""

    def __init__(self, viewer: Any, annotations: Any) -> None:
        super().__init__(viewer)
        self.setObjectName("measurementList")
        self.setWindowTitle("Measurements")
        self.resize(620, 360)
        self.viewer, self.annotations = viewer, annotations
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Measurement", "Result", "Image", "Label"])
        self.table.verticalHeader().hide()
        self.table.itemChanged.connect(self._edited)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.go_to(row))
        buttons = QHBoxLayout()
        for text, slot in (("Go to", lambda: self.go_to(self.table.currentRow())),
                           ("Delete", lambda: self.delete(self.table.currentRow()))):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        box = QVBoxLayout(self)
        box.addWidget(self.table)
        box.addLayout(buttons)
        self.fill()

    def fill(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.annotations.measurements))
        for row, m in enumerate(self.annotations.measurements):
            cells = (_KINDS.get(m.kind, m.kind), self._result(m), self._image(m), m.text)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col != 3:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)

    def _view_of(self, m: Any) -> Any:
        return next((v for v in self.viewer.viewports if v.model.series is not None
                     and v.model.series.series_uid == m.series_uid), None)

    def _index(self, view: Any, m: Any) -> int:
        info = view.model.series
        return next((i for i, (sop, ref) in enumerate(zip(info.sop_uids, info.refs))
                     if sop == m.sop_uid and ref.frame == m.frame), -1)

    def _result(self, m: Any) -> str:
        view = self._view_of(m)
        if view is None or not m.complete:
            return ""
        index = self._index(view, m)
        try:
            values = view.model.frames.get(index) if m.kind in ("ellipse", "rect", "probe") else None
            cal = view.model.calibration() if view.model.series.is_volume else None
            if cal is None:
                from app.viewer.calibration import calibration_of

                cal = calibration_of(view.model.frames.dataset(view.model.series.refs[index].path), m.frame)
            return evaluate(m, cal, values, view.model.series.modality).label.replace("\n", ", ")
        except Exception:  # noqa: BLE001 - the list still shows the measurement without its value
            return ""

    def _image(self, m: Any) -> str:
        view = self._view_of(m)
        if view is None:
            return ""
        info = view.model.series
        return f"series {info.number if info.number is not None else '?'}, image {self._index(view, m) + 1}"

    def _change(self, apply: Any) -> None:
        self.viewer.history.record(self.annotations)  # the state before (if not recorded yet)
        apply()
        self.viewer.history.record(self.annotations)
        self.viewer.refresh_measurements(self.annotations)
        self.fill()

    def _edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 3 and 0 <= item.row() < len(self.annotations.measurements):
            m = self.annotations.measurements[item.row()]
            self._change(lambda: setattr(m, "text", item.text()))

    def delete(self, row: int) -> None:
        if 0 <= row < len(self.annotations.measurements):
            uid = self.annotations.measurements[row].uid
            self._change(lambda: self.annotations.remove(uid))

    def go_to(self, row: int) -> None:
        """Show the measurement's image in the viewport that has its series."""
        if not 0 <= row < len(self.annotations.measurements):
            return
        m = self.annotations.measurements[row]
        view = self._view_of(m)
        index = self._index(view, m) if view is not None else -1
        if index >= 0 and view.model.state.set_frame(index):
            view.apply({"frame"})
