"""Clinical context and critical results in the main window: the one-line order banner above the viewports,
View > Critical results... (the same use case as ``telerad critical``), and the HL7 order listener started
when ``orders.json`` sets a port (the worklist refreshes when an order changes)."""

from __future__ import annotations

import logging
from html import escape
from typing import Any, Optional

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

log = logging.getLogger(__name__)
ORDER_POLL_MS = 3000
RESULT_COLUMNS = ("Accession", "Finding", "Report", "Images arrived (UTC)", "Communicated (UTC)", "To", "Role",
                  "How", "Read back", "Minutes")


def banner_text(mark: Any) -> str:
    """"Reason: ... · History: ..." of an order (no patient identifiers: the viewer shows those already)."""
    if mark is None or not (mark.reason or mark.history):
        return ""
    parts = [f"Reason: {' '.join(mark.reason.split())}" if mark.reason else "",
             f"History: {' '.join(mark.history.split())}" if mark.history else ""]
    return " · ".join(p for p in parts if p)


class ContextBanner(QLabel):
    """One line above the viewports, in the reading area's tab row (``area``: a QTabWidget): the text takes
    the room the tabs leave, elided, the full text in the tooltip."""

    def __init__(self, area: Any) -> None:
        super().__init__(area)
        self.area = area
        self.setObjectName("clinicalContextBanner")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setStyleSheet("padding: 1px 8px; color: #ffe082; font-weight: bold;")
        self.full = ""
        area.installEventFilter(self)
        self.hide()

    def show_text(self, text: str) -> None:
        self.full = text
        self.setToolTip(f"<qt>{escape(text)}</qt>" if text else "")
        self._elide()
        self.setVisible(bool(text))

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 (Qt API)
        if watched is self.area and event.type() == QEvent.Type.Resize and self.full:
            self._elide()
        return False

    def _elide(self) -> None:
        room = self.area.width() - self.area.tabBar().sizeHint().width() - 24
        width = max(room, 120)
        self.setFixedWidth(width)
        self.setText(self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideRight, width - 18))


class CriticalResultsDialog(QDialog):
    """The night's critical results (open loops first) with the time from image arrival to communication."""

    def __init__(self, ws: Any, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("criticalResultsDialog")
        self.setWindowTitle("Critical results")
        box = QVBoxLayout(self)
        row = QHBoxLayout()
        self.hours = QDoubleSpinBox(minimum=0.5, maximum=24 * 14, value=12.0, suffix=" h", decimals=1)
        self.hours.valueChanged.connect(self.reload)
        row.addWidget(QLabel("Last"))
        row.addWidget(self.hours)
        self.summary = QLabel()
        row.addWidget(self.summary, 1)
        box.addLayout(row)
        self.table = QTableWidget(0, len(RESULT_COLUMNS), objectName="criticalResultsTable")
        self.table.setHorizontalHeaderLabels(RESULT_COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        box.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.resize(1180, 360)
        self.reload()

    def reload(self) -> None:
        """Read the list again (``Workstation.critical_results``, as ``telerad critical`` does)."""
        results = self.ws.critical_results(self.hours.value())
        self.table.setRowCount(len(results))
        for r, result in enumerate(results):
            for c, text in enumerate(_cells(result)):
                item = QTableWidgetItem(text)
                if not result.communicated:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(r, c, item)
        open_loops = sum(1 for r in results if not r.communicated)
        self.summary.setText(f"{len(results)} critical result(s), {open_loops} not communicated yet")

    def rows(self) -> list[list[str]]:
        """The table's text, row by row (tests and screen readers)."""
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]


def _cells(result: Any) -> list[str]:
    n = result.notice
    minutes = result.minutes_to_communication
    return [result.accession or "-", result.finding, result.state, result.arrival[:19].replace("T", " "),
            n.communicated_at[:19].replace("T", " ") if n else "NOT YET", n.recipient if n else "",
            n.role if n else "", n.method if n else "", ("yes" if n.read_back else "no") if n else "",
            f"{minutes:g}" if minutes is not None else ""]


def open_critical_results(window: Any) -> CriticalResultsDialog:
    dialog = CriticalResultsDialog(window.ws, window)
    dialog.show()
    window.critical_results_dialog = dialog
    return dialog


def attach_clinical(window: Any) -> None:
    """The banner in the reading area's tab row, View > Critical results..., the HL7 listener and the poll
    that refreshes the worklist when an order changes."""
    window.context_banner = ContextBanner(window.viewer_area)
    window.viewer_area.setCornerWidget(window.context_banner, Qt.Corner.TopRightCorner)
    action = QAction("&Critical results...", window, objectName="criticalResultsAction")
    action.setShortcut("Ctrl+Shift+K")
    action.triggered.connect(lambda: open_critical_results(window))
    view = next(a.menu() for a in window.menuBar().actions() if a.menu() and a.text().replace("&", "") == "View")
    view.addSeparator()
    view.addAction(action)
    window.critical_results_action = action
    window.awaiting_label = QLabel(objectName="awaitingImages", visible=False)
    window.statusBar().addPermanentWidget(window.awaiting_label)
    window.worklist_panel.entries_loaded.connect(lambda _n: show_awaiting(window))
    start_hl7(window)
    window.orders_seen = _revision(window)
    window.orders_timer = QTimer(window, interval=ORDER_POLL_MS, timeout=lambda: _orders_changed(window))
    window.orders_timer.start()


def show_context(window: Any, study_uid: str) -> None:
    """Put the study's order (reason for exam, history) in the banner above the viewports."""
    try:
        mark = window.ws.order_mark(study_uid)
    except Exception as exc:  # the order store unreadable: the images still open
        log.warning("order context not shown: %s", exc)
        mark = None
    window.context_banner.show_text(banner_text(mark))


def show_awaiting(window: Any) -> Any:
    """Count the orders without images yet (off the main thread) into the status bar; the list in its tooltip."""
    def show(rows: list[Any]) -> None:
        label = window.awaiting_label
        label.setText(f"{len(rows)} order(s) awaiting images")
        label.setToolTip("<qt>" + "<br>".join(
            escape(f"{o.priority.value} {o.accession} {o.procedure_text or o.procedure_code}"
                   + (f" – {o.reason}" if o.reason else "")) for o, _ in rows[:30]) + "</qt>")
        label.setVisible(bool(rows))

    def awaiting(progress: Any = None, cancel: Any = None) -> list[Any]:  # a bridge task
        return list(window.ws.order_list(awaiting_only=True))

    return window.bridge.submit("Orders awaiting images", awaiting, on_success=show,
                                on_failure=lambda exc: log.warning("orders not listed: %s", exc))


def start_hl7(window: Any) -> None:
    """Start the HL7 listener when the settings give it a port; a failure is shown, never fatal."""
    window.hl7_listener = None
    try:
        port = window.ws.settings().orders.port
        if port is None:
            return
        listener = window.ws.start_hl7_listener()
    except Exception as exc:  # bad orders.json, port taken: say so, keep reading
        window.statusBar().showMessage(f"HL7 order listener not started: {exc}", 15000)
        return
    window.hl7_listener = listener
    window.statusBar().showMessage(f"HL7 orders on port {listener.port}", 5000)


def _revision(window: Any) -> Any:
    try:
        return window.ws.orders_revision()
    except Exception as exc:
        log.warning("orders not read: %s", exc)
        return None


def _orders_changed(window: Any) -> None:
    seen = _revision(window)
    if seen is not None and seen != window.orders_seen:
        window.orders_seen = seen
        window.worklist_panel.refresh()
        uid = window.viewer_area.study_uid
        if uid:
            show_context(window, uid)
