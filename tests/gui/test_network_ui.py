"""Networking in the main window against a real Orthanc: Query PACS dialog (query, retrieve, the study
lands on the worklist), SCP status widget (listening / off / errors), SCP stopped on close."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import resolve_paths
from tests.core.net_peers import free_port
from tests.gui.conftest import assert_real_rendering, qimage_to_array

pytest_plugins = ["tests.core.net_fixtures"]


@pytest.fixture
def make_window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    from app.network.nodes import save
    from app.ui.main_window import MainWindow
    from app.workstation import Workstation

    opened = []

    def make(config=None, name: str = "home"):  # type: ignore[no-untyped-def]
        paths = resolve_paths(str(tmp_path / name))
        paths.config_dir.mkdir(parents=True)
        if config is not None:
            save(paths.config_dir, config)
        ws = Workstation(paths, "tester")
        win = MainWindow(ws)
        qtbot.addWidget(win)
        win.show()
        opened.append((win, ws))
        return win

    yield make
    for win, ws in opened:
        win.close()
        ws.close()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_query_dialog_retrieves_onto_the_worklist(qtbot, make_window, net_config, orthanc, ct_study, tilted_study,
                                                   artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    from app.ui.network_ui import COLUMNS, UID_ROLE

    win = make_window(net_config)
    action = win.query_pacs_action
    assert action.shortcut() == QKeySequence("Ctrl+Shift+F")
    file_menu = win.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
    assert win.worklist_panel.prefetch is not None  # "Retrieve now" and prefetch go through the session
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    qtbot.keyClick(win, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = win.query_dialog
    qtbot.waitExposed(dialog)
    assert dialog.node_box.currentData() == "orthanc"

    dialog.patient_id.setText("PLASTIC")
    dialog.modality.setCurrentText("CT")
    handle = dialog.search()
    qtbot.waitUntil(lambda: handle.done, timeout=20_000)
    assert dialog.table.rowCount() == 2
    rest = {s["MainDicomTags"]["StudyInstanceUID"]: s for s in orthanc.rest("GET", "/studies?expand")}
    shown = {dialog.table.item(r, 0).data(UID_ROLE): r for r in range(dialog.table.rowCount())}
    assert set(shown) == {ct_study.uid, tilted_study.uid}
    for uid, row in shown.items():
        tags = rest[uid]["MainDicomTags"]
        assert dialog.table.item(row, COLUMNS.index("Description")).text() == tags.get("StudyDescription", "")
        assert dialog.table.item(row, COLUMNS.index("Cached")).data(0) == 0
    assert dialog.table.item(shown[ct_study.uid], COLUMNS.index("Images")).data(0) == 140

    dialog.patient_id.setText("NOBODY")
    handle = dialog.search()
    qtbot.waitUntil(lambda: handle.done, timeout=20_000)
    assert dialog.table.rowCount() == 0 and "0 studies" in dialog.status.text()
    dialog.patient_id.setText("PLASTIC")
    handle = dialog.search()
    qtbot.waitUntil(lambda: handle.done, timeout=20_000)

    assert dialog.select_study(tilted_study.uid)
    assert dialog.retrieve_button.isEnabled()
    progress = []
    task = dialog.retrieve_selected()
    task.progressed.connect(progress.append)
    texts: list[str] = []
    task.progressed.connect(lambda _p: texts.append(dialog.status.text()))
    qtbot.waitUntil(lambda: dialog.retrieve_task is None, timeout=30_000)
    assert "Retrieved 54 instance(s), 54 cached" in dialog.status.text()
    assert any(" of 54 instances, " in t and "MB/s" in t for t in texts)  # the running retrieve's rate
    assert win.cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids)
    assert progress and progress[-1].done == progress[-1].total == 54
    row = dialog.select_study(tilted_study.uid) and dialog.table.currentRow()
    assert dialog.table.item(row, COLUMNS.index("Cached")).data(0) == 54
    # the retrieved study shows up on the worklist as a local study from the orthanc node
    qtbot.waitUntil(lambda: win.model.row_of(tilted_study.uid) is not None, timeout=20_000)
    entry = win.worklist.entry(tilted_study.uid)
    assert entry.local and entry.site == "orthanc"
    assert "listening" in win.network_status.scp_label.text()

    qtbot.wait(100)
    shot = dialog.grab()
    shot.save(str(artifacts / "query_dialog.png"))
    assert_real_rendering(qimage_to_array(shot.toImage()))


def test_cancel_in_dialog_flags_the_study_incomplete(qtbot, make_window, net_config, ct_study) -> None:  # type: ignore[no-untyped-def]
    # a C-GET node: WADO-RS delivers the 140 instances before a cancel queued from the progress signal lands
    # (WADO-RS cancel is covered in tests/core/test_net_webstream.py)
    dimse = replace(net_config.get("orthanc"), dicomweb=None)
    win = make_window(replace(net_config, nodes={"orthanc": dimse}))
    dialog = win.query_pacs_action.trigger() or win.query_dialog
    handle = dialog.search()
    qtbot.waitUntil(lambda: handle.done, timeout=20_000)
    assert dialog.select_study(ct_study.uid)
    task = dialog.retrieve_selected()
    task.progressed.connect(lambda p: p.done >= 10 and dialog.cancel())
    qtbot.waitUntil(lambda: dialog.retrieve_task is None, timeout=30_000)
    assert "cancelled" in dialog.status.text()
    got = len(win.cache.instance_uids(ct_study.uid))
    assert 10 <= got < 140
    assert "incomplete" in win.cache.get_study(ct_study.uid).flags


def test_status_widget_states_and_scp_stops_on_close(qtbot, make_window, net_config, scp_port,
                                                      artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    bare = make_window(None, "bare")
    assert bare.network_status.scp_label.text().endswith("SCP off")
    assert not bare.network_status.error_label.isVisible() and bare.network.state().nodes == ()
    assert bare.worklist_panel.prefetch is None

    dead = replace(net_config.get("orthanc"), name="dead", port=free_port())
    cfg = replace(net_config, nodes={"dead": dead, "orthanc": net_config.get("orthanc")})
    win = make_window(cfg)
    status = win.network_status
    assert status.scp_label.text().endswith(f"listening on port {scp_port}") and _listening(scp_port)
    waiting = replace(win.network.state(), active=1, restart_pending=True)  # a listener change waits for a retrieve
    status.show_state(waiting)
    assert status.scp_label.text().endswith("1 retrieving \u00b7 new settings apply when the retrieves end")
    status.show_state(win.network.state())
    win.statusBar().showMessage("")
    qtbot.wait(50)
    bar = win.statusBar().grab()
    bar.save(str(artifacts / "network_status.png"))
    assert_real_rendering(qimage_to_array(bar.toImage()), min_colours=8)
    dialog = win.query_pacs_action.trigger() or win.query_dialog
    dialog.node_box.setCurrentIndex(dialog.node_box.findData("dead"))
    handle = dialog.search()
    qtbot.waitUntil(lambda: handle.done, timeout=20_000)
    assert "Error" in dialog.status.text()
    qtbot.waitUntil(status.error_label.isVisible, timeout=5000)
    assert "query dead" in status.error_label.toolTip()
    dialog.node_box.setCurrentIndex(dialog.node_box.findData("orthanc"))
    handle = dialog.search()
    qtbot.waitUntil(lambda: handle.done, timeout=20_000)
    qtbot.waitUntil(lambda: not status.error_label.isVisible(), timeout=5000)

    # a port already taken: the SCP reports an error instead of listening
    other = make_window(cfg, "other")
    assert other.network_status.scp_label.text().endswith("SCP error")
    assert str(scp_port) in other.network_status.scp_label.toolTip()

    win.close()
    assert not win.network.state().listening and not _listening(scp_port)


def test_worklist_polls_the_node_and_prefetches_priors(qtbot, make_window, net_config, ct_study,
                                                       tilted_study) -> None:  # type: ignore[no-untyped-def]
    win = make_window(net_config)
    win.network.recent_days = None  # the phantoms are from 2015: look at every date
    win.refresh()
    qtbot.waitUntil(lambda: None not in (win.model.row_of(ct_study.uid), win.model.row_of(tilted_study.uid)),
                    timeout=20_000)
    # two remote studies of one patient are each other's priors: the prefetch queue fetches both via the session
    qtbot.waitUntil(lambda: len(win.cache.instance_uids(ct_study.uid)) == 140
                    and len(win.cache.instance_uids(tilted_study.uid)) == 54, timeout=30_000)
    qtbot.waitUntil(lambda: win.worklist.entry(ct_study.uid).local and win.worklist.entry(tilted_study.uid).local,
                    timeout=20_000)
    states = win.worklist_panel.prefetch.states
    # the files land before the job ends (completeness check, audit): wait for the queue to say done
    qtbot.waitUntil(lambda: {states()[ct_study.uid].state, states()[tilted_study.uid].state} == {"done"},
                    timeout=20_000)


def test_opening_a_remote_study_retrieves_it_first(qtbot, make_window, net_config, orthanc, tilted_study) -> None:  # type: ignore[no-untyped-def]
    win = make_window(net_config, name="remote-open")
    assert win.cache.get_study(tilted_study.uid) is None
    win.open_study(tilted_study.uid, [])
    qtbot.waitUntil(lambda: win.viewer_area.study_uid == tilted_study.uid, timeout=60_000)  # on the first slice
    # then it fills in as the slices arrive (reader first, WADO-RS): the whole series, no placeholder left
    qtbot.waitUntil(lambda: win.cache.instance_uids(tilted_study.uid) == set(tilted_study.sop_uids), timeout=60_000)
    qtbot.waitUntil(lambda: win.arrival_follower.arrivals.snapshot().done, timeout=60_000)
    view = win.viewer_area.viewer.viewports[0]
    qtbot.waitUntil(lambda: view.model.series is not None and view.model.series.frame_count == 54
                    and "arriving" not in view.model.series.extra, timeout=10_000)
    assert win.cache.get_study(tilted_study.uid).flags == ()
    qtbot.waitUntil(lambda: win.report_area.report is not None, timeout=30_000)


def test_opening_a_remote_study_without_nodes_explains(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    win = make_window(None, name="no-nodes")
    win.open_study("1.2.3.4", [])
    assert "no PACS node" in win.statusBar().currentMessage()
    assert win.viewer_area.study_uid is None
