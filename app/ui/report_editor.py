"""Keyboard-first report editor: sections, template picker, macros, measurements / key images, critical
findings, signing through the TaskBridge, live delivery state. Keys: Alt+1..5 section, Tab next section,
``.macro`` + space expands, Ctrl+M / Ctrl+K ask the viewer for measurements / a key image, Ctrl+Shift+C
critical, Ctrl+Shift+N who was told, Ctrl+Shift+S sign."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from app.reporting.autosave import DraftAutosaver
from app.reporting.critical import CriticalNotCommunicatedError, NormalTextError
from app.reporting.model import KeyImage, Report, ReportError
from app.reporting.service import delivery_states
from app.reporting.templates import load_macros
from app.ui.bridge import TaskBridge
from app.ui.report_editor_dialogs import NoticeDialog, SignDialog
from app.ui.report_editor_outbox import DeliveryPanel, OutboxPump
from app.ui.report_editor_sections import SectionsPanel
from app.ui.report_editor_text import (
    as_measurement, extras_text, header_text, measurement_line, person, sign_task, state_text, template_changes,
)

if TYPE_CHECKING:
    from app.workstation import Workstation

class ReportEditor(QWidget):
    """The report area of a :class:`~app.workstation.Workstation`: drafting, critical findings, notices,
    signing and addenda go through its use cases (the worklist follows); keystrokes autosave to its store."""

    report_opened = Signal(str, str)  # study UID, report id
    report_signed = Signal(object)  # app.reporting.workflow.SignedReport
    critical_changed = Signal(str, bool)  # study UID, critical
    report_changed = Signal(str)  # study UID: its worklist row may show something new (critical, addendum)
    delivery_changed = Signal(str, str)  # report id, least advanced state (queued/sending/sent/failed)
    measurements_requested = Signal()  # Ctrl+M: the viewer should call insert_measurements(...)
    key_image_requested = Signal()  # Ctrl+K: the viewer should call insert_key_image(...)
    status_message = Signal(str)

    def __init__(self, ws: "Workstation", bridge: TaskBridge, *, send_outbox: bool = True,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.ws, self.ctx = ws, ws.reporting()
        self.bridge, self.user = bridge, ws.user
        self.report: Optional[Report] = None
        self.saver: Optional[DraftAutosaver] = None
        self.sign_handle: Any = None
        self._signing = False  # a signature is being made (the task's callbacks run before it is done)
        self.last_p12, self._delivery = "", ""
        self.notice_dialog: Optional[NoticeDialog] = None  # the last communication dialog opened
        self.confirm_box: Optional[QMessageBox] = None  # the last "sign the normal text?" question
        self._global_macros = load_macros()
        self._build()
        self.pump = OutboxPump(self.ctx, bridge, 3000 if send_outbox else 0, self)
        self.pump.ran.connect(lambda _summary: self.refresh_state())
        self.timer = QTimer(self, interval=1000, timeout=self.refresh_state)
        self.timer.start()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.header = QLabel("No study open")
        self.header.setObjectName("report_header")
        root.addWidget(self.header)
        bar = QHBoxLayout()
        self.template_box = QComboBox()
        self.template_box.setObjectName("template_picker")
        for t in sorted(self.ctx.templates().values(), key=lambda t: t.title):
            self.template_box.addItem(t.title, t.id)
        self.template_box.activated.connect(self._template_chosen)
        label = QLabel("&Template:")
        label.setBuddy(self.template_box)
        self.critical_box = QCheckBox("&Critical finding")
        self.critical_box.toggled.connect(self._critical_toggled)
        self.critical_text = QLineEdit()
        self.critical_text.setPlaceholderText("critical finding (shown in the report and the worklist)")
        self.critical_text.editingFinished.connect(lambda: self._critical_toggled(self.critical_box.isChecked()))
        self.notice_button = QPushButton("Who was &told…")
        self.notice_button.clicked.connect(lambda: self.open_notice_dialog())
        self.sign_button = QPushButton("&Sign…")
        self.sign_button.clicked.connect(lambda: self.open_sign_dialog())
        self.addendum_button = QPushButton("&Addendum")
        self.addendum_button.clicked.connect(self.start_addendum)
        for w in (label, self.template_box, self.critical_box, self.critical_text, self.notice_button):
            bar.addWidget(w, 3 if w is self.critical_text else 0)
        bar.addStretch(1)
        bar.addWidget(self.addendum_button)
        bar.addWidget(self.sign_button)
        root.addLayout(bar)
        self.sections = SectionsPanel(self.macros, self)
        self.sections.edited.connect(self._edited)
        self.scroll = QScrollArea(widgetResizable=True)
        self.scroll.setWidget(self.sections)
        root.addWidget(self.scroll, 1)
        self.extras, self.state_label = QLabel(""), QLabel("")
        root.addWidget(self.extras)
        self.delivery = DeliveryPanel(self)
        self.delivery.retry_requested.connect(self._retry)
        root.addWidget(self.delivery)
        root.addWidget(self.state_label)
        for keys, slot in (("Ctrl+M", self.measurements_requested.emit), ("Ctrl+K", self.key_image_requested.emit),
                           ("Ctrl+Shift+C", self.critical_box.toggle),
                           ("Ctrl+Shift+N", lambda: self.open_notice_dialog()),
                           ("Ctrl+Shift+S", lambda: self.open_sign_dialog())):
            shortcut = QShortcut(QKeySequence(keys), self, activated=slot)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # not while the viewer has focus
        self._set_enabled()

    def macros(self) -> dict[str, str]:
        """Global macros overridden by the current template's."""
        template = self.ctx.templates().get(self.report.template_id) if self.report else None
        return {**self._global_macros, **(template.macros if template else {})}

    # -- opening -----------------------------------------------------------------------------
    def open_study(self, study_uid: str) -> Optional[Report]:
        """Show the study's open report (creating a draft with the automatic template if none exists)."""
        self._close_saver()
        try:
            report = self.ws.open_report(study_uid)
        except ReportError as exc:
            self.report = None
            self.header.setText(f"Cannot report this study: {exc}")
            self._set_enabled()
            return None
        self._show(report)
        self.report_opened.emit(study_uid, report.id)
        return report

    def _show(self, report: Report) -> None:
        self._close_saver()
        self.report = report
        self.header.setText(header_text(report))
        index = self.template_box.findData(report.template_id)
        self.template_box.setCurrentIndex(index)
        self.sections.set_sections(report.sections, read_only=not report.editable)
        for w, value in ((self.critical_box, report.critical), (self.critical_text, report.critical_text)):
            w.blockSignals(True)
            w.setChecked(value) if isinstance(w, QCheckBox) else w.setText(value)
            w.blockSignals(False)
        if report.editable:
            self.saver = DraftAutosaver(self.ctx.store, report.id, delay_s=0.5)
        self._set_enabled()
        self.refresh_state()
        if report.editable:
            self.sections.edits["findings"].setFocus()

    def _set_enabled(self) -> None:
        editable = bool(self.report and self.report.editable)
        busy = self._signing
        self.template_box.setEnabled(editable and not busy)
        self.critical_box.setEnabled(editable and not busy)
        self.critical_text.setEnabled(editable and not busy and self.critical_box.isChecked())
        self.sign_button.setEnabled(editable and not busy)
        self.notice_button.setEnabled(bool(self.report and self.report.critical))
        self.addendum_button.setVisible(bool(self.report and not self.report.editable))

    # -- editing -----------------------------------------------------------------------------
    def _edited(self, key: str, text: str) -> None:
        if self.saver is not None:
            self.saver.edit(key, text)

    def _template_chosen(self, index: int) -> None:
        if self.report is None or not self.report.editable:
            return
        new = self.ctx.templates()[self.template_box.itemData(index)]
        changes = template_changes(self.sections.texts(), self.ctx.templates().get(self.report.template_id), new)
        self.flush()
        self.ctx.store.set_template(self.report.id, new.id)
        self.ctx.store.update_sections(self.report.id, changes)
        self._show(self.ctx.store.get(self.report.id))

    def flush(self) -> None:
        """Write pending keystrokes now."""
        if self.saver is not None:
            self.saver.flush()

    def _close_saver(self) -> None:
        if self.saver is not None:
            self.saver.close()
            self.saver = None

    @Slot(object)
    def insert_measurements(self, measurements: Iterable[Any]) -> None:
        """Add viewer measurements (``Measurement`` or dicts with label/value/unit/image) to the report and
        a line each at the cursor (findings if no section has focus)."""
        if self.report is None or not self.report.editable:
            return
        edit = self.sections.focused_or("findings")
        for raw in measurements:
            m = as_measurement(raw)
            self.ctx.store.add_measurement(self.report.id, m)  # full precision in the SR; the text as on screen
            edit.insert_line(raw.get("line") if isinstance(raw, dict) and raw.get("line") else measurement_line(m))
        self._refresh_extras()

    def set_comparison(self, text: str) -> bool:
        """Fill the Comparison section from the prior on screen, unless the reader wrote one already."""
        if self.report is None or not self.report.editable:
            return False
        edit = self.sections.edits["comparison"]
        current = edit.toPlainText().strip()
        if current and current.rstrip(".").lower() not in ("none available", "none") and text not in current:
            return False
        edit.setPlainText(text)
        self._edited("comparison", text)
        return True

    @Slot(object)
    def insert_key_image(self, key_image: Any, png_path: str = "", caption: str = "") -> None:
        """Add a key image (``KeyImage``, or an ``ImageRef`` plus thumbnail PNG and caption)."""
        if self.report is None or not self.report.editable:
            return
        item = key_image if isinstance(key_image, KeyImage) else KeyImage(key_image, png_path, caption)
        self.ctx.store.add_key_image(self.report.id, item)
        number = len(self.ctx.store.get(self.report.id).key_images)
        self.sections.focused_or("findings").insert_line(f"[Key image {number}: {item.caption or 'see image'}]")
        self._refresh_extras()

    # -- critical findings -------------------------------------------------------------------
    def _critical_toggled(self, checked: bool) -> None:
        if self.report is None or not self.report.editable:
            return
        self.report = self.ws.set_critical(self.report.id, checked, self.critical_text.text().strip())
        self._set_enabled()
        self.critical_changed.emit(self.report.study.study_uid, checked)
        self.report_changed.emit(self.report.study.study_uid)
        if checked and not self.critical_text.text():
            self.critical_text.setFocus()

    def open_notice_dialog(self, *, then_sign: bool = False) -> Optional[NoticeDialog]:
        """Non-modal "who was told" dialog (the order's ordering physician and callback number shown); the
        communication is recorded (validated, audited) when accepted, and with ``then_sign`` signing goes on."""
        if self.report is None or not self.report.critical:
            return None
        mark = self.ws.order_mark(self.report.study.study_uid)
        why = (f"Critical result: {self.report.critical_text or 'see report'}. Record its communication "
               "before signing.") if then_sign else ""
        dialog = NoticeDialog(self.user, self, physician=mark.ordering_physician if mark else "",
                              callback=mark.callback if mark else "", reason=why)
        dialog.accepted.connect(lambda: self._notice(dialog, then_sign))
        dialog.open()
        self.notice_dialog = dialog
        return dialog

    def _notice(self, dialog: NoticeDialog, then_sign: bool = False) -> None:
        if self.report is None:
            return
        try:
            self.report = self.ws.communicate(self.report.id, **dialog.values())  # type: ignore[arg-type]
        except ReportError as exc:
            self.state_label.setText(f"<span style='color:#c62828'>Not recorded: {exc}</span>")
            self.status_message.emit(f"Communication not recorded: {exc}")
            return
        self._refresh_extras()
        self.report_changed.emit(self.report.study.study_uid)
        if then_sign:
            self.open_sign_dialog()

    # -- signing -----------------------------------------------------------------------------
    def open_sign_dialog(self, *, normal_text_confirmed: bool = False) -> Optional[QWidget]:
        """Non-modal sign dialog (certificate file + password); accepting starts :meth:`sign_with`. What the
        use case would refuse comes first: a critical report without a recorded communication opens the
        communication dialog, one still holding the template's normal text asks for confirmation."""
        if self.report is None or not self.report.editable:
            return None
        self.flush()  # the use case checks the stored text
        try:
            self.ws.check_signable(self.report.id, confirm_normal_text=normal_text_confirmed)
        except CriticalNotCommunicatedError:
            return self.open_notice_dialog(then_sign=True)
        except NormalTextError as exc:
            return self._confirm_normal_text(exc)
        report = self.report
        dialog = SignDialog(self.last_p12, "Signing makes the report final and sends it to the hospital.", self,
                            allow_preliminary=str(report.kind) == "original" and str(report.state) == "draft",
                            review_of=person(report.preliminary_signer) if report.preliminary_signer else "")
        dialog.accepted.connect(lambda: self.sign_with(dialog.p12(), dialog.password(),
                                                       confirm_normal_text=normal_text_confirmed,
                                                       **dialog.options()))  # type: ignore[arg-type]
        dialog.open()
        return dialog

    def _confirm_normal_text(self, exc: NormalTextError) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, "Critical report with the template's normal text",
                          f"{exc}.\n\nSign it as it is?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("normal_text_confirm")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.buttonClicked.connect(lambda button: self.open_sign_dialog(normal_text_confirmed=True)
                                  if box.standardButton(button) == QMessageBox.StandardButton.Yes else None)
        box.open()
        self.confirm_box = box
        return box

    def sign_with(self, p12: Path, password: bytes, *, confirm_normal_text: bool = False, preliminary: bool = False,
                  review: str = "", review_note: str = "") -> None:
        """Sign the open report in the task pool; ``report_signed`` follows on success."""
        if self.report is None or not self.report.editable:
            return
        self.last_p12 = str(p12)
        self._close_saver()
        self.sections.set_sections(self.sections.texts(), read_only=True)
        self.state_label.setText("Signing…")
        self._signing = True
        self.sign_handle = self.bridge.submit("sign report", sign_task, self.ws, self.report.id, Path(p12),
                                              password, confirm_normal_text=confirm_normal_text,
                                              preliminary=preliminary, review=review, review_note=review_note,
                                              on_success=self._signed, on_failure=self._sign_failed)
        self._set_enabled()

    def _signed(self, result: Any) -> None:
        self._signing = False  # done: a preliminary read stays editable for the final reader
        self._show(result.report)
        self.status_message.emit(f"Report signed: {result.pdf}")
        self.report_signed.emit(result)
        self.pump.kick()

    def _sign_failed(self, exc: BaseException) -> None:
        self._signing = False
        if self.report is not None:
            self._show(self.ctx.store.get(self.report.id))
        if isinstance(exc, CriticalNotCommunicatedError):  # not signed: who was told comes first
            self.open_notice_dialog(then_sign=True)
        elif isinstance(exc, NormalTextError):
            self._confirm_normal_text(exc)
        self.state_label.setText(f"<span style='color:#c62828'>Signing failed: {exc}</span>")
        self.status_message.emit(f"Signing failed: {exc}")

    def start_addendum(self) -> None:
        """Open a new addendum (a draft correcting the signed report)."""
        if self.report is not None and not self.report.editable:
            self._show(self.ws.start_addendum(self.report.study.study_uid))
            self.report_changed.emit(self.report.study.study_uid)

    # -- state -------------------------------------------------------------------------------
    def _retry(self, sop_uid: str) -> None:
        self.ctx.store.outbox(lambda p, n: None).retry_now(sop_uid)
        self.pump.kick()

    def _refresh_extras(self) -> None:
        self.extras.setText(extras_text(self.ctx.store.get(self.report.id)) if self.report else "")

    def refresh_state(self) -> None:
        """Re-read autosave revision and delivery state (called every second)."""
        if self.report is None or (self.sign_handle is not None and not self.sign_handle.done):
            return
        current = self.ctx.store.get(self.report.id)
        self.state_label.setText(state_text(current, self.saver.error if self.saver else None))
        states = delivery_states(self.ctx.store, current.id)
        self.delivery.show_states(states)
        overall = next((s for s in ("failed", "sending", "queued", "sent") if s in self.delivery.states.values()), "")
        if overall != self._delivery:
            self._delivery = overall
            self.delivery_changed.emit(current.id, overall)
        self._refresh_extras()

    def shutdown(self) -> None:
        """Flush the draft and stop timers (call before the window closes; the bridge is shut down by its owner)."""
        self.timer.stop()
        self.pump.stop()
        self._close_saver()
