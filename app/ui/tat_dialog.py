"""Worklist > Turnaround dashboard... (Ctrl+Shift+T): a non-modal dialog with the two tables of
app.workstation.tat (per facility and priority; per reader and status), refreshed on demand and, in group
reading, when the shared worklist changes; Export CSV... writes both tables. The dashboard is computed off
the main thread (the bridge). No PHI: facilities, priorities, reader names, counts and minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog, QDoubleSpinBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout,
)

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow
    from app.workstation.tat import TatDashboard

TAT_KEY = "Ctrl+Shift+T"
FACILITY_HEADERS = ("Facility", "Priority", "Target (min)", "Queued", "Reading", "Near breach", "Breached",
                    "Read", "Met", "Late", "Median (min)", "P90 (min)")
READER_HEADERS = ("Reader", "Queued", "Reading", "Preliminary", "Final", "Amended", "Late")
ALERT_COLUMNS = {"near_breach": "#d08000", "breached": "#d03030", "late": "#d03030"}
TEXT_COLUMNS = ("facility", "priority", "reader")  # left-aligned; the others are numbers
LIVE_DELAY_MS = 1000  # group changes come in bursts: one refresh a second at most


class TatDialog(QDialog):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window_ = window
        self.board: Optional["TatDashboard"] = None
        self.loading: Any = None
        self._again = False
        self.setWindowTitle("Turnaround dashboard")
        self.setModal(False)
        self.since = QDoubleSpinBox(minimum=1, maximum=24 * 90, value=24, decimals=0, suffix=" h")
        self.since.setToolTip("Reads of the last hours counted (met, late, median, P90)")
        self.refresh_button = QPushButton("&Refresh")
        self.export_button = QPushButton("&Export CSV...")
        self.export_button.setEnabled(False)
        self.status = QLabel("")
        self.facilities = _table(FACILITY_HEADERS)
        self.readers = _table(READER_HEADERS)
        top = QHBoxLayout()
        for widget in (QLabel("Reads of the last"), self.since, self.refresh_button, self.export_button):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(QLabel("By facility and priority (breaches: against the facility's contract target)"))
        layout.addWidget(self.facilities, 3)
        layout.addWidget(QLabel("By reader and status"))
        layout.addWidget(self.readers, 2)
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button.clicked.connect(lambda: self.export_csv())
        self.since.editingFinished.connect(self.refresh)
        self._live = QTimer(self, singleShot=True, interval=LIVE_DELAY_MS)
        self._live.timeout.connect(self.refresh)
        live = getattr(window, "group_live", None)
        if live is not None:
            live.changed.connect(self._live.start)
        self.resize(1000, 520)

    def refresh(self) -> Any:
        """Compute the dashboard off the main thread; a request during a computation runs once after it."""
        if self.loading is not None and not self.loading.done:
            self._again = True
            return self.loading
        from app.workstation.tat import dashboard

        hours, ws = self.since.value(), self.window_.ws
        self.status.setText("Updating...")
        self.loading = self.window_.bridge.submit(
            "Turnaround dashboard", lambda progress=None, cancel=None: dashboard(ws, since_hours=hours),
            on_success=self.show_board, on_failure=self._failed)
        self.loading.finished.connect(self._after)
        return self.loading

    def _after(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"Not updated: {exc}")

    def show_board(self, board: "TatDashboard") -> None:
        from dataclasses import astuple

        from app.workstation.tat import READER_COLUMNS, TAT_COLUMNS

        self.board = board
        _fill(self.facilities, [astuple(r) for r in board.rows], TAT_COLUMNS)
        _fill(self.readers, [(r.reader or "(queue)", *astuple(r)[1:]) for r in board.readers], READER_COLUMNS)
        where = "group" if board.source == "group" else "this workstation"
        self.status.setText(f"{where}, updated {board.at.astimezone().strftime('%H:%M:%S')}")
        self.export_button.setEnabled(True)

    def export_csv(self, path: Optional[str] = None) -> Any:
        """Write both tables (app.workstation.tat.write_csv) to ``path`` (asked for when None), off the main
        thread; the handle (None when no file was chosen)."""
        if self.board is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export turnaround dashboard", "turnaround.csv",
                                                  "CSV files (*.csv)")
            if not path:
                return None
        board, target = self.board, path

        def write(progress: Any = None, cancel: Any = None) -> str:
            from app.workstation.tat import write_csv

            with open(target, "w", newline="", encoding="utf-8") as out:
                write_csv(board, out)
            return target

        return self.window_.bridge.submit("Export turnaround CSV", write,
                                          on_success=lambda p: self.status.setText(f"Exported to {p}"),
                                          on_failure=self._failed)


def _table(headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the name column takes the room left
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
    """The rows as text (no value: "-"), numbers right-aligned, alert counts above zero coloured."""
    alerts = [ALERT_COLUMNS.get(name, "") for name in columns]
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem("-" if value is None else f"{value:g}" if isinstance(value, float) else str(value))
            if columns[c] not in TEXT_COLUMNS:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if alerts[c] and isinstance(value, int) and value > 0:
                item.setForeground(QBrush(QColor(alerts[c])))
            table.setItem(r, c, item)


def open_tat(window: "MainWindow") -> TatDialog:
    """Show the window's dashboard (one per window, raised when open) and refresh it."""
    dialog = getattr(window, "tat_dialog", None)
    if dialog is None:
        dialog = window.tat_dialog = TatDialog(window)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    dialog.refresh()
    return dialog


def attach_tat(window: "MainWindow") -> None:
    """Worklist > Turnaround dashboard... (Ctrl+Shift+T), in group reading and for a lone reader."""
    from PySide6.QtGui import QAction, QKeySequence

    action = QAction("&Turnaround dashboard...", window)
    action.setShortcut(QKeySequence(TAT_KEY))
    action.setStatusTip("Median and P90 turnaround, breaches of the contract targets, counts by reader")
    action.triggered.connect(lambda: open_tat(window))
    window.addAction(action)
    for menu_action in window.menuBar().actions():
        if menu_action.text() == "&Worklist" and menu_action.menu() is not None:
            menu_action.menu().addSeparator()
            menu_action.menu().addAction(action)
    window.tat_action = action
