"""File > DICOM nodes... in the main window, against a real Orthanc: a node added through the form is saved
(nodes.json, the session, the listener, the Query dialog), an invalid AE title blocks Save, C-ECHO runs on the
bridge (OK against Orthanc; a closed port or a silent peer fail while the event loop keeps running), Cancel
leaves nodes.json alone, a remote-only change keeps the running SCP, a taken port is reported in the dialog."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt

from app.network.nodes import FILE_NAME, load
from tests.core.net_peers import OUR_AET, free_port
from tests.gui.conftest import assert_real_rendering, qimage_to_array
from tests.gui.test_network_ui import make_window  # noqa: F401  (fixture: a MainWindow on a private home)

pytest_plugins = ["tests.core.net_fixtures"]


def _open(qtbot, win):  # type: ignore[no-untyped-def]
    assert win.dicom_nodes_action.objectName() == "dicomNodesAction"
    file_menu = win.menuBar().actions()[0].menu()
    names = [a.objectName() for a in file_menu.actions()]
    assert names.index("dicomNodesAction") == names.index("queryPacsAction") + 1
    win.dicom_nodes_action.trigger()
    dialog = win.nodes_dialog
    qtbot.waitExposed(dialog)
    return dialog


def _type(qtbot, edit, text: str) -> None:  # type: ignore[no-untyped-def]
    """Replace the text of a line edit by typing, as a user would."""
    edit.clear()
    qtbot.keyClicks(edit, text)


def _click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_add_a_node_test_it_and_save(qtbot, make_window, orthanc, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    win = make_window(None, "add")
    assert win.worklist_panel.prefetch is None and not win.network.state().listening
    query = win.query_pacs_action.trigger() or win.query_dialog
    assert not query.search_button.isEnabled() and "DICOM nodes" in query.status.text()
    dialog = _open(qtbot, win)
    assert dialog.node_list.count() == 0 and not dialog.node_fields["name"].isEnabled()
    _click(qtbot, dialog.buttons["add"])
    fields = dialog.node_fields
    assert dialog.node_list.count() == 1 and not dialog.save_button.isEnabled()
    assert "host is empty" in dialog.error_label.text() and dialog.error_label.isVisible()
    _type(qtbot, fields["name"], "orthanc")
    _type(qtbot, fields["ae_title"], "ABCDEFGHIJKLMNOPQ")  # 17 characters
    _type(qtbot, fields["host"], "127.0.0.1")
    fields["port"].setValue(orthanc.dicom_port)
    assert "node orthanc: AE title 'ABCDEFGHIJKLMNOPQ'" in dialog.error_label.text()
    assert dialog.error_label.isVisible() and not dialog.save_button.isEnabled()
    qtbot.wait(50)
    dialog.grab().save(str(artifacts / "nodes_dialog_error.png"))
    _type(qtbot, fields["ae_title"], orthanc.aet)
    fields["retrieve"].setCurrentIndex(fields["retrieve"].findData("move"))
    assert fields["wire"].currentData() == "lossless" and not fields["transcodes"].isChecked()
    fields["wire"].setCurrentIndex(fields["wire"].findData("stored"))
    fields["transcodes"].setChecked(True)
    _type(qtbot, fields["dicomweb"], orthanc.dicomweb_url)
    assert dialog.node_list.item(0).text() == "orthanc"
    # this workstation: loopback and a free port (the default 0.0.0.0:11112 is no place for a test)
    dialog.tabs.setCurrentIndex(1)
    port = free_port()
    _type(qtbot, dialog.local_fields["host"], "127.0.0.1")
    dialog.local_fields["port"].setValue(port)
    assert dialog.save_button.isEnabled() and not dialog.error_label.isVisible()
    dialog.tabs.setCurrentIndex(0)

    _click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: dialog.echo_label.text().startswith("OK"), timeout=10_000)
    assert re.fullmatch(r"OK, \d+ ms", dialog.echo_label.text())
    qtbot.wait(50)
    shot = dialog.grab()
    shot.save(str(artifacts / "nodes_dialog.png"))
    assert_real_rendering(qimage_to_array(shot.toImage()))
    dialog.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    dialog.grab().save(str(artifacts / "nodes_dialog_local.png"))
    dialog.tabs.setCurrentIndex(0)

    _click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    saved = load(win.paths.config_dir)
    node = saved.get("orthanc")
    assert (node.ae_title, node.host, node.port, node.retrieve, node.dicomweb, node.wire, node.transcodes) == (
        orthanc.aet, "127.0.0.1", orthanc.dicom_port, "move", orthanc.dicomweb_url, "stored", True)
    assert (saved.local.host, saved.local.port, saved.local.ae_title) == ("127.0.0.1", port, OUR_AET)
    assert [n.name for n in win.network.nodes()] == ["orthanc"] and win.network.config == saved
    state = win.network.state()
    assert state.listening and state.port == port
    assert win.worklist_panel.prefetch is not None and win.worklist_panel.remote_source is not None
    assert query.node_box.currentData() == "orthanc" and query.search_button.isEnabled()
    assert "DICOM nodes saved" in win.statusBar().currentMessage()
    qtbot.waitUntil(lambda: f"port {port}" in win.network_status.scp_label.text(), timeout=5000)


def test_echo_failures_do_not_block(qtbot, make_window, net_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer

    import app.ui.nodes_dialog as nodes_dialog

    dead = replace(net_config.get("orthanc"), name="dead", port=free_port())
    win = make_window(replace(net_config, nodes={"dead": dead}), "echo")
    dialog = _open(qtbot, win)
    assert dialog.node_fields["name"].text() == "dead"
    started = time.monotonic()
    task = dialog.test_echo()
    assert time.monotonic() - started < 0.2 and dialog.echo_label.text().startswith("Testing")
    qtbot.waitUntil(lambda: task.done, timeout=10_000)
    assert dialog.echo_label.text().startswith("Failed:") and "cannot connect" in dialog.echo_label.text()
    assert "refused" in dialog.echo_label.text()
    assert dialog.test_button.isEnabled()

    # a peer that accepts the TCP connection and never answers: the echo times out on the bridge
    monkeypatch.setattr(nodes_dialog, "ECHO_TIMEOUT", 1.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        dialog.node_fields["port"].setValue(silent.getsockname()[1])
        ticks = []
        timer = QTimer(interval=20, timeout=lambda: ticks.append(time.monotonic()))
        timer.start()
        task = dialog.test_echo()
        assert not dialog.test_button.isEnabled()
        qtbot.waitUntil(lambda: task.done, timeout=15_000)
        timer.stop()
    assert dialog.echo_label.text().startswith("Failed:")
    assert len(ticks) >= 30 and max(b - a for a, b in zip(ticks, ticks[1:])) < 0.5  # the event loop kept running


def test_cancel_remote_change_and_taken_port(qtbot, make_window, net_config,
                                                           scp_port) -> None:  # type: ignore[no-untyped-def]
    win = make_window(net_config, "cancel")
    path = win.paths.config_dir / FILE_NAME
    before, scp = path.read_bytes(), win.network.scp
    assert scp is not None and win.network.state().port == scp_port
    dialog = _open(qtbot, win)
    _type(qtbot, dialog.node_fields["ae_title"], "CHANGED")
    _click(qtbot, dialog.buttons["duplicate"])
    assert dialog.node_list.count() == 2 and dialog.node_list.item(1).text() == "orthanc-copy"
    _click(qtbot, dialog.buttons["remove"])
    dialog.local_fields["port"].setValue(free_port())
    assert dialog.save_button.isEnabled()
    _click(qtbot, dialog.cancel_button)
    assert not dialog.isVisible() and path.read_bytes() == before
    assert win.network.config == net_config and win.network.scp is scp

    dialog = _open(qtbot, win)  # reopened: the saved configuration again, not the cancelled edits
    assert dialog.node_list.count() == 1 and dialog.node_fields["ae_title"].text() == net_config.get("orthanc").ae_title
    assert dialog.local_fields["port"].value() == scp_port
    _type(qtbot, dialog.node_fields["dicomweb"], "")
    _click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    assert load(win.paths.config_dir).get("orthanc").dicomweb is None
    assert win.network.scp is scp and win.network.state().port == scp_port

    # a listening port that is taken: saved, but the dialog stays open and says why the listener is off
    dialog = _open(qtbot, win)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        dialog.local_fields["port"].setValue(taken)
        task = dialog.save()
        qtbot.waitUntil(lambda: task.done, timeout=10_000)
    assert dialog.isVisible() and f"listener is off: cannot listen on port {taken}" in dialog.error_label.text()
    assert load(win.paths.config_dir).local.port == taken and not win.network.state().listening
    assert dialog.save_button.isEnabled() and dialog.cancel_button.isEnabled()
