"""Clinical context on screen and the critical result's closed loop in the window: an order sent by a real MLLP
peer (python-hl7's ``mllp_send``) to the listener the window started (orders.json sets a port) shows in the worklist's Reason column and tooltip, in the banner above the
viewports and in the draft's Clinical information; signing a critical report without a recorded communication
opens the communication dialog (with the ordering physician's callback number) instead of signing."""

from __future__ import annotations

import json
from pathlib import Path

from app.config import resolve_paths
from app.workstation import Workstation
from tests.core.report_fixtures import make_pki, study_files
from tests.core.test_orders_mllp import _send
from tests.core.test_orders_parse import order_message
from tests.gui.conftest import main_window

REASON, HISTORY = "Code stroke: left hemiparesis", "Atrial fibrillation on apixaban"
CALLBACK = "+41 21 555 0101"


def _home(tmp_path: Path, shared_data: Path) -> tuple[Path, str]:
    """A data dir with one cached CT and orders.json asking for an HL7 listener (any free port)."""
    home = tmp_path / "home"
    paths = resolve_paths(str(home))
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    (paths.config_dir / "orders.json").write_text(json.dumps({"hl7": {"port": 0, "host": "127.0.0.1"}}))
    with Workstation(paths, "tester") as ws:
        ws.import_paths(study_files(shared_data)[:12])
        return home, ws.cache.list_studies()[0].study_instance_uid


def _orders(uid: str) -> list[bytes]:
    return [order_message("O1", "ACC-STROKE", "MRN1", style="omi", priority="S", study_uid=uid, reason=REASON,
                          history=HISTORY, callback=CALLBACK),
            order_message("O2", "ACC-WAIT", "MRN2", priority="A", reason="Follow-up of a nodule")]


def test_order_context_on_screen_and_sign_asks_who_was_told(qtbot, tmp_path: Path, shared_data: Path,  # type: ignore[no-untyped-def]
                                                            artifacts: Path) -> None:
    from PySide6.QtCore import Qt

    from app.ui.report_editor_dialogs import NoticeDialog, SignDialog
    from app.ui.worklist_model import COL

    home, uid = _home(tmp_path, shared_data)
    pki = make_pki(tmp_path / "pki")
    with main_window(qtbot, home) as window:
        handle = window.refresh()  # as the app does on start
        qtbot.waitUntil(lambda: handle.done and window.model.rowCount() == 1, timeout=30_000)
        assert window.model.index(0, COL["reason"]).data() == "" and window.hl7_listener is not None
        # the RIS sends while the window is open: the worklist follows
        assert [a[0] for a in _send(window.hl7_listener.port, _orders(uid), tmp_path)] == ["AA", "AA"]
        reason = window.model.index(0, COL["reason"])
        qtbot.waitUntil(lambda: window.model.index(0, COL["reason"]).data() == REASON, timeout=15_000)
        qtbot.waitUntil(lambda: window.awaiting_label.isVisible(), timeout=10_000)
        assert window.awaiting_label.text() == "1 order(s) awaiting images"
        assert "ACC-WAIT" in window.awaiting_label.toolTip()
        reason = window.model.index(0, COL["reason"])
        assert reason.data() == REASON and window.model.index(0, COL["priority"]).data() == "STAT"
        tip = reason.data(Qt.ItemDataRole.ToolTipRole)
        assert all(text in tip for text in (REASON, HISTORY, "Dr Gregory House", CALLBACK))

        window.table.scrollTo(reason)  # the Reason column in view for the screenshot
        qtbot.wait(200)
        window.screen().grabWindow(window.winId()).save(str(artifacts / "clinical_context_worklist.png"))
        window.open_study(uid, [])
        banner = window.context_banner
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        assert banner.full == f"Reason: {REASON} · History: {HISTORY}" and banner.text().startswith("Reason: ")
        editor = window.report_area
        clinical = editor.sections.edits["clinical_information"].toPlainText()
        assert clinical == f"Reason for exam: {REASON}\nClinical history: {HISTORY}"

        editor.sections.edits["findings"].setPlainText("Acute left subdural haematoma, 9 mm.")
        editor.sections.edits["impression"].setPlainText("Acute left subdural haematoma.")
        editor.critical_text.setText("Acute left subdural haematoma")
        editor.critical_box.setChecked(True)
        dialog = editor.open_sign_dialog()
        assert isinstance(dialog, NoticeDialog) and dialog.isVisible()  # not the sign dialog
        assert CALLBACK in dialog.contact.text() and dialog.recipient.text() == "Dr Gregory House"
        viewer = window.viewer_area.viewer
        qtbot.waitUntil(lambda: viewer.viewports[0].model.has_image, timeout=30_000)
        qtbot.wait(500)
        window.screen().grabWindow(window.winId()).save(str(artifacts / "clinical_context_window.png"))
        dialog.grab().save(str(artifacts / "critical_communication_dialog.png"))
        report = editor.ctx.store.get(editor.report.id)
        assert report.state == "draft" and not report.notices

        dialog.read_back.setChecked(True)
        dialog.accept()  # recorded (audited), then signing goes on
        qtbot.waitUntil(lambda: any(w.isVisible() for w in editor.findChildren(SignDialog)), timeout=5000)
        [sign] = [w for w in editor.findChildren(SignDialog) if w.isVisible()]
        sign.p12_edit.setText(str(pki.p12))
        sign.password_edit.setText(pki.password.decode())
        with qtbot.waitSignal(editor.report_signed, timeout=60_000) as signed:
            sign.accept()
        final = signed.args[0].report
        assert final.state == "final" and final.notices[0].recipient == "Dr Gregory House"
        assert final.notices[0].read_back and final.notices[0].role == "ordering physician"
        assert final.sections["clinical_information"] == clinical

        window.critical_results_action.trigger()
        rows = window.critical_results_dialog.rows()
        assert len(rows) == 1 and rows[0][1] == "Acute left subdural haematoma" and rows[0][5] == "Dr Gregory House"
        assert rows[0][8] == "yes" and rows[0][9] != ""
        window.critical_results_dialog.grab().save(str(artifacts / "critical_results_dialog.png"))
        window.critical_results_dialog.close()


def test_a_preliminary_read_signed_in_the_window_is_finalised_with_a_review(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                           shared_data: Path, artifacts: Path) -> None:
    from app.ui.report_editor_dialogs import SignDialog

    home, uid = _home(tmp_path, shared_data)
    night, day = make_pki(tmp_path / "night", "Dr Nora Night"), make_pki(tmp_path / "day", "Dr Dan Day")
    with main_window(qtbot, home) as window:
        handle = window.refresh()
        qtbot.waitUntil(lambda: handle.done and window.model.rowCount() == 1, timeout=30_000)
        window.open_study(uid, [])
        editor = window.report_area
        editor.sections.edits["impression"].setPlainText("No acute finding.")

        def sign_in_dialog(pki, **choose: object):  # type: ignore[no-untyped-def]
            dialog = editor.open_sign_dialog()
            assert isinstance(dialog, SignDialog)
            if "preliminary" in choose:
                dialog.preliminary.setChecked(True)
            if "review" in choose:
                dialog.review.setCurrentIndex(dialog.review.findData(choose["review"]))
                dialog.review_note.setText(str(choose["note"]))
            dialog.p12_edit.setText(str(pki.p12))
            dialog.password_edit.setText(pki.password.decode())
            with qtbot.waitSignal(editor.report_signed, timeout=60_000) as signed:
                dialog.accept()
            return dialog, signed.args[0].report

        first, report = sign_in_dialog(night, preliminary=True)
        assert first.preliminary.isVisibleTo(first) and not first.reviewing
        assert report.state == "preliminary" and report.preliminary_signer == "Night^Nora^^Dr"
        qtbot.waitUntil(lambda: "preliminary read signed by Dr Nora Night" in editor.state_label.text(), timeout=5000)
        assert editor.sign_button.isEnabled() and not editor.sections.edits["impression"].isReadOnly()
        window.screen().grabWindow(window.winId()).save(str(artifacts / "preliminary_read_window.png"))
        second, report = sign_in_dialog(day, review="major", note="missed the fracture")
        assert second.reviewing and not second.preliminary.isVisibleTo(second)
        assert (report.state, report.review, report.review_note) == ("final", "major", "missed the fracture")
        assert report.reviewed_by == "Day^Dan^^Dr" and report.signer_name == "Day^Dan^^Dr"
