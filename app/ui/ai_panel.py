"""The AI results panel above the report: the open study's AI findings (triage SR, SEG) with Accept / Reject;
the decision goes through the workstation (AI store, audit, the report's findings) and the row refreshes.
The viewer is told too: "AI: suspected ICH (not reviewed / accepted / rejected)" over the images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from app.ui.bridge import TaskBridge
    from app.workstation import Workstation


class AiPanel(QFrame):
    """One row per AI finding: "AI: suspected ICH (BleedFinder) - pending  [Accept] [Reject]"; hidden when
    the study has none."""

    decided = Signal(str)  # study UID: its report and worklist row changed
    decision_started = Signal(str)  # study UID: the report's unsaved edits are saved first
    status_message = Signal(str)
    findings_shown = Signal(str, object)  # study UID, {finding label: decision}: for the viewer's corner text

    def __init__(self, ws: "Workstation", bridge: "TaskBridge", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.ws, self.bridge = ws, bridge
        self.study_uid = ""
        self.setObjectName("aiPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.rows = QVBoxLayout(self)
        self.rows.setContentsMargins(6, 4, 6, 4)
        self.buttons: dict[str, tuple[QPushButton, QPushButton]] = {}
        self.labels: dict[str, QLabel] = {}
        self.hide()

    def show_study(self, study_uid: str, *_: Any) -> None:
        """List the study's AI findings and warnings (read from the AI store)."""
        self.study_uid = study_uid
        self._clear()
        views, problems = self.ws.ai_findings(study_uid), self.ws.ai_warnings(study_uid)
        if views:
            title = QLabel("<b>AI results</b> (suspected findings: accept or reject)")
            self.rows.addWidget(title)
        for view in views:
            self.rows.addLayout(self._row(view))
        for warning in problems:
            label = QLabel(f"⚠ {warning}")
            label.setWordWrap(True)
            label.setStyleSheet("color: #f9a825")
            self.rows.addWidget(label)
        self.setVisible(bool(views or problems))
        self.findings_shown.emit(study_uid, {v.finding.label: v.decision for v in views})

    def _row(self, view: Any) -> QHBoxLayout:
        row = QHBoxLayout()
        label = QLabel(self._text(view))
        label.setObjectName(f"ai_finding_{view.key}")
        accept, reject = QPushButton("Accept"), QPushButton("Reject")
        accept.setObjectName(f"ai_accept_{view.key}")
        reject.setObjectName(f"ai_reject_{view.key}")
        accept.clicked.connect(lambda: self.decide(view.key, "accepted"))
        reject.clicked.connect(lambda: self.decide(view.key, "rejected"))
        accept.setEnabled(view.decision != "accepted")
        reject.setEnabled(view.decision != "rejected")
        row.addWidget(label, 1)
        row.addWidget(accept)
        row.addWidget(reject)
        self.labels[view.key], self.buttons[view.key] = label, (accept, reject)
        return row

    @staticmethod
    def _text(view: Any) -> str:
        state = "pending" if view.decision == "pending" else f"{view.decision} by {view.decided_by}"
        colour = "#ff6b6b" if view.finding.critical and view.decision != "rejected" else "#9e9e9e"
        return f"<span style='color:{colour}'><b>AI: {view.finding.name}</b></span> — {state}"

    def _clear(self) -> None:
        def drop(layout: Any) -> None:
            while layout.count():
                item = layout.takeAt(0)
                if item.widget() is not None:
                    item.widget().deleteLater()
                elif item.layout() is not None:
                    drop(item.layout())

        drop(self.rows)
        self.buttons, self.labels = {}, {}

    def decide(self, key: str, decision: str) -> Any:
        """Record the decision off the main thread; the panel, report and worklist row follow."""
        uid = self.study_uid

        def run(progress: Any = None, cancel: Any = None) -> Any:
            return self.ws.decide_ai_finding(uid, key, decision)

        self.decision_started.emit(uid)
        return self.bridge.submit("Recording AI decision", run, on_success=lambda view: self._done(uid, view),
                                  on_failure=lambda exc: self.status_message.emit(f"AI decision not recorded: {exc}"))

    def _done(self, uid: str, view: Any) -> None:
        self.status_message.emit(view.report_line)
        self.decided.emit(uid)
        if uid == self.study_uid:
            self.show_study(uid)


def attach_ai_panel(window: Any) -> AiPanel:
    """Put the panel at the top of the report column and wire it: it follows the report being opened, saves
    the report's pending edits before a decision, and reloads the report and the worklist row after one."""
    panel = AiPanel(window.ws, window.bridge, window.report_area)
    window.report_area.layout().insertWidget(1, panel)
    window.report_area.report_opened.connect(panel.show_study)
    panel.decision_started.connect(lambda _uid: window.report_area.flush())
    panel.decided.connect(lambda uid: (window.report_area.open_study(uid), window.worklist_panel.show_study(uid)))
    panel.status_message.connect(lambda text: window.statusBar().showMessage(text, 10000))
    panel.findings_shown.connect(lambda uid, found: _to_viewer(window, uid, found))
    return panel


def _to_viewer(window: Any, study_uid: str, findings: dict[str, str]) -> None:
    """Name the AI findings over the study's images (a rejected finding's SEG is no longer drawn)."""
    viewer = window.viewer_area.viewer
    if viewer is not None:
        viewer.set_ai_findings(study_uid, findings)
