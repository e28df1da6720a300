"""Delivery in the editor: a pump that runs the outbox through the TaskBridge, and the per-output state view."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.reporting.service import ReportingContext
from app.ui.bridge import TaskBridge, TaskHandle

ROLE_NAMES = {"sr": "DICOM SR", "epdf": "PDF (DICOM)", "hl7": "HL7 result (RIS)"}
STATE_COLOURS = {"queued": "#8a6d00", "sending": "#1565c0", "sent": "#2e7d32", "failed": "#c62828",
                 "local": "#616161"}


def _run_once(ctx: ReportingContext, progress: Any = None, cancel: Any = None) -> Any:
    from app.reporting.runner import run_outbox

    return run_outbox(ctx.outbox(cancel), ctx.home, once=True, cancel=cancel, progress=progress)


class OutboxPump(QObject):
    """Every ``interval_ms`` (and on :meth:`kick`), send due outbox rows in the pool; one run at a time.
    Another process running the outbox (CLI) is not an error: that runner sends instead."""

    ran = Signal(object)  # RunSummary

    def __init__(self, ctx: ReportingContext, bridge: TaskBridge, interval_ms: int = 3000,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.ctx, self.bridge = ctx, bridge
        self.handle: Optional[TaskHandle] = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.kick)
        if interval_ms > 0:
            self.timer.start()

    def kick(self) -> None:
        """Start a run now unless one is running or nothing is due."""
        if self.handle is not None and not self.handle.done:
            return
        if self.ctx.store.outbox(lambda p, n: None).due_count() == 0:
            return
        self.handle = self.bridge.submit("send reports", _run_once, self.ctx, on_success=self.ran.emit,
                                         on_failure=lambda exc: None)

    def stop(self) -> None:
        self.timer.stop()
        if self.handle is not None:
            self.handle.cancel()


class DeliveryPanel(QWidget):
    """One line per output: "DICOM SR -> pacs: sent"; failed rows show their reason and a Retry button."""

    retry_requested = Signal(str)  # SOP Instance UID

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(4, 2, 4, 2)
        self.title = QLabel("Delivery:")
        self.row.addWidget(self.title)
        self.labels: dict[str, QLabel] = {}
        self.retry = QPushButton("&Retry now")
        self.retry.clicked.connect(self._retry)
        self.row.addStretch(1)
        self.row.addWidget(self.retry)
        self._failed: list[str] = []
        self.states: dict[str, str] = {}
        self.show_states({})

    def show_states(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """``states`` as returned by :func:`app.reporting.service.delivery_states`."""
        for label in self.labels.values():
            label.hide()
        self.states = {role: str(s["state"]) for role, s in states.items()}
        self._failed = [str(s["sop_instance_uid"]) for s in states.values() if s["state"] == "failed"]
        for i, (role, s) in enumerate(sorted(states.items())):
            label = self.labels.get(role)
            if label is None:
                label = self.labels[role] = QLabel()
                label.setObjectName(f"delivery_{role}")
                self.row.insertWidget(1 + i, label)
            target = f" → {s['node']}" if s.get("node") else ""
            reason = f" ({s['error']})" if s["state"] == "failed" and s.get("error") else ""
            colour = STATE_COLOURS.get(str(s["state"]), "#000000")
            label.setText(f"{ROLE_NAMES.get(role, role)}{target}: <b style='color:{colour}'>{s['state']}</b>"
                          f"{reason}")
            label.show()
        self.title.setText("Delivery:" if states else "Delivery: not signed yet")
        self.retry.setVisible(bool(self._failed))

    def _retry(self) -> None:
        for uid in self._failed:
            self.retry_requested.emit(uid)
