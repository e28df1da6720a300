"""The report editor: typing with macros, autosave to SQLite, measurements/key images, critical finding with
notice, signing through the TaskBridge with a test PKCS#12, live delivery to a real dcmtk storescp."""

from __future__ import annotations

import sqlite3
import json
from typing import Any
from pathlib import Path

import pydicom
import pytest
from PySide6.QtCore import Qt

from tests.core.net_peers import OUR_AET, free_port, start_storescp, stop
from tests.core.report_fixtures import key_image_png, make_pki, study_files
from tests.gui.conftest import assert_real_rendering, qimage_to_array


def editor_ws(home: Path, cache: Any, store: Any) -> Any:
    """A workstation on the test's cache and report store (lent: the fixture closes them)."""
    from app.config import Paths
    from app.workstation import Workstation

    return Workstation(Paths(home, home / "config"), "dr.example", services={"cache": cache, "reports": store})


@pytest.fixture()
def setup(tmp_path: Path, shared_data: Path):  # type: ignore[no-untyped-def]
    from app.network.nodes import LocalAE, Node, NodeConfig, save
    from app.reporting.store import ReportStore
    from app.reporting.workflow import report_db_path
    from app.store import Cache
    from app.ui.bridge import TaskBridge

    home = tmp_path / "home"
    port = free_port()
    peer = start_storescp(port, tmp_path / "received")
    cfg = NodeConfig(local=LocalAE(OUR_AET, free_port(), "127.0.0.1"))
    cfg.add(Node("pacs", "STORESCP", "127.0.0.1", port))
    save(home / "config", cfg)
    cache = Cache.open(home / "cache")
    files = study_files(shared_data)
    for f in files:
        cache.store_file(f, "pacs")
    store = ReportStore(report_db_path(home))
    bridge = TaskBridge()
    yield home, cache, store, bridge, files, tmp_path
    bridge.shutdown()
    store.close()
    cache.close()
    stop(peer)


def test_type_autosave_sign_and_deliver(qtbot, setup, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from app.reporting.model import ImageRef, KeyImage, Measurement
    from app.ui.report_editor import ReportEditor

    home, cache, store, bridge, files, tmp = setup
    editor = ReportEditor(editor_ws(home, cache, store), bridge)
    qtbot.addWidget(editor)
    editor.resize(1280, 860)
    editor.show()
    editor.activateWindow()
    qtbot.waitExposed(editor)
    uid = cache.list_studies()[0].study_instance_uid
    report = editor.open_study(uid)
    assert report is not None and report.template_id == "ct-head"
    assert editor.template_box.currentData() == "ct-head"

    findings = editor.sections.edits["findings"]
    findings.setFocus()
    findings.selectAll()
    qtbot.keyClicks(findings, "Phantom study. .nad ")
    assert findings.toPlainText() == "Phantom study. No acute abnormality. "
    clinical = editor.sections.edits["clinical_information"]
    qtbot.keyClicks(clinical, "Fall from standing height.")

    def saved() -> dict:
        with sqlite3.connect(store.path) as db:  # a separate connection sees only committed text
            return json.loads(db.execute("SELECT sections_json FROM reports WHERE id = ?", [report.id]).fetchone()[0])

    qtbot.waitUntil(lambda: saved()["findings"] == "Phantom study. No acute abnormality. "
                    and saved()["clinical_information"] == "Fall from standing height.", timeout=3000)

    src = pydicom.dcmread(files[len(files) // 2], stop_before_pixels=True)
    ref = ImageRef(src.SOPClassUID, src.SOPInstanceUID, src.SeriesInstanceUID)
    findings.moveCursor(findings.textCursor().MoveOperation.End)
    editor.insert_measurements([Measurement("Length", 23.4, "mm", ref),
                                {"label": "Mean attenuation", "value": 35, "unit": "[hnsf'U]", "image": ref}])
    png = key_image_png(files[len(files) // 2], tmp / "key.png")
    editor.insert_key_image(KeyImage(ref, str(png), "Axial, level of the ventricles"))
    assert "Length: 23.4 mm" in findings.toPlainText() and "Mean attenuation: 35 HU" in findings.toPlainText()
    assert "[Key image 1: Axial, level of the ventricles]" in findings.toPlainText()

    with qtbot.waitSignal(editor.critical_changed, timeout=2000) as crit:
        editor.critical_text.setText("Phantom: test of the critical workflow")
        qtbot.keyClick(findings, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert crit.args == [uid, True] and store.get(report.id).critical
    notice = editor.open_notice_dialog()
    notice.recipient.setText("Dr Bob Referrer (ED)")
    notice.accept()
    assert store.get(report.id).notices[0].recipient == "Dr Bob Referrer (ED)"

    pki = make_pki(tmp / "pki")
    from PySide6.QtWidgets import QMessageBox

    from app.ui.report_editor_dialogs import SignDialog

    confirm = editor.open_sign_dialog()  # critical, the impression still the template's normal text: asked first
    assert isinstance(confirm, QMessageBox) and "impression" in confirm.text()
    confirm.button(QMessageBox.StandardButton.Yes).click()
    [dialog] = [w for w in editor.findChildren(SignDialog) if w.isVisible()]
    dialog.p12_edit.setText(str(pki.p12))
    dialog.password_edit.setText(pki.password.decode())
    with qtbot.waitSignal(editor.report_signed, timeout=30000) as signed:
        dialog.accept()
    result = signed.args[0]
    assert result.report.state == "final" and result.pdf.is_file() and result.sr.is_file()
    assert result.encapsulated_pdf.is_file()
    final = store.get(report.id)
    assert final.sections["findings"].startswith("Phantom study. No acute abnormality.")
    assert len(final.measurements) == 2 and len(final.key_images) == 1 and final.critical
    assert findings.isReadOnly() and editor.addendum_button.isVisible()
    assert {s.modality for s in cache.list_series(uid)} == {"CT", "SR", "DOC"}

    # The pump sends both objects to the study's source node; the state line follows live.
    qtbot.waitUntil(lambda: editor.delivery.states == {"sr": "sent", "epdf": "sent"}, timeout=20000)
    received = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
                for p in (tmp / "received").iterdir()}
    assert received == {o.sop_instance_uid for o in store.outputs(report.id) if o.sop_instance_uid}
    from app.reporting.verify import verify_pdf

    assert verify_pdf(result.pdf, [pki.ca_pem]).ok

    qtbot.wait(50)
    shot = editor.grab()
    shot.save(str(artifacts / "report_editor.png"))
    assert_real_rendering(qimage_to_array(shot.toImage()))
    editor.shutdown()


def test_wrong_password_keeps_the_draft_editable(qtbot, setup) -> None:  # type: ignore[no-untyped-def]
    from app.ui.report_editor import ReportEditor

    home, cache, store, bridge, files, tmp = setup
    editor = ReportEditor(editor_ws(home, cache, store), bridge, send_outbox=False)
    qtbot.addWidget(editor)
    report = editor.open_study(cache.list_studies()[0].study_instance_uid)
    findings = editor.sections.edits["findings"]
    findings.setPlainText("Edited findings stay when the template changes.")
    before = store.get(report.id).sections
    editor.template_box.setCurrentIndex(editor.template_box.findData("ct-chest"))
    editor.template_box.activated.emit(editor.template_box.currentIndex())
    after = store.get(report.id)
    assert after.template_id == "ct-chest" and after.sections["technique"] != before["technique"]
    assert "chest" in after.sections["technique"].lower()
    assert after.sections["findings"] == "Edited findings stay when the template changes."
    pki = make_pki(tmp / "pki")
    editor.sign_with(pki.p12, b"wrong password")
    qtbot.waitUntil(lambda: editor.sign_handle.done, timeout=20000)
    assert "Signing failed" in editor.state_label.text() and "wrong password" in editor.state_label.text()
    assert store.get(report.id).editable and not editor.sections.edits["findings"].isReadOnly()
    impression = editor.sections.edits["impression"]
    impression.moveCursor(impression.textCursor().MoveOperation.End)
    qtbot.keyClicks(impression, " Still editable.")
    editor.flush()
    assert store.get(report.id).sections["impression"].endswith("Still editable.")
    editor.shutdown()
