"""Sign-in and lock (issue 16 item 1): idle lock, no patient data on screen or in any widget while locked,
the listener still receiving, unlock with a wrong then the right password, the rate limit, the audit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from tests.core.net_peers import NODELAY_ENV, OUR_AET, free_port
from tests.gui.conftest import main_window, qimage_to_array, wait_study_open

PASSWORD = "correct horse"
DX = Path("cr_dx") / "dx_image.dcm"  # patient Dog^AVeryGood, ID 123456
ARRIVING = Path("charset") / "chrFren.dcm"  # patient Buc^Jérôme, ID SCSFREN
PHI = ("AVeryGood", "123456", "Jérôme", "SCSFREN")


def _texts(widget: Any) -> list[str]:
    """Every text a widget shows or holds (labels, fields, buttons, editors, combo items, view models)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractItemView, QComboBox, QPlainTextEdit, QTextEdit

    out = [widget.windowTitle(), widget.toolTip(), widget.statusTip(), widget.whatsThis()]
    for name in ("text", "placeholderText", "title"):
        value = getattr(widget, name, None)
        if callable(value):
            try:
                out.append(str(value()))
            except TypeError:
                pass
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        out.append(widget.toPlainText())
    if isinstance(widget, QComboBox):
        out += [widget.itemText(i) for i in range(widget.count())]
    if isinstance(widget, QAbstractItemView) and widget.model() is not None:
        model = widget.model()
        rows, cols = _shape(model)
        for r in range(rows):
            for c in range(cols):
                index = model.index(r, c)
                out += [str(model.data(index, role) or "") for role in (Qt.ItemDataRole.DisplayRole,
                                                                        Qt.ItemDataRole.ToolTipRole)]
    return out


def _shape(model: Any) -> tuple[int, int]:
    from PySide6.QtCore import QModelIndex

    for args in ((), (QModelIndex(),)):
        try:
            return model.rowCount(*args), model.columnCount(*args)
        except TypeError:  # some Qt models expose only one of the overloads
            continue
    rows = model.rowCount()
    return rows, 1


def phi_on_screen() -> list[str]:
    """PHI found in a visible widget, in any tooltip, or in any window title."""
    from PySide6.QtWidgets import QApplication

    found = []
    for widget in QApplication.allWidgets():
        texts = _texts(widget) if widget.isVisible() else [widget.toolTip(), widget.windowTitle()]
        found += [f"{type(widget).__name__} {widget.objectName()}: {t[:80]!r}" for t in texts
                  if any(p in t for p in PHI)]
    return found


@pytest.fixture
def signed_in(qtbot, tmp_path: Path, shared_data: Path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The main window of a data dir with accounts alice and bob, alice signed in, the SCP listening."""
    from app.config import resolve_paths
    from app.network.nodes import LocalAE, Node, NodeConfig, save
    from app.workstation import security

    home = tmp_path / "home"
    cfg = NodeConfig(local=LocalAE(OUR_AET, free_port(), "127.0.0.1"))
    cfg.add(Node("modality", "STORESCU", "127.0.0.1", free_port()))
    save(resolve_paths(str(home)).config_dir, cfg)

    def accounts(ws: Any) -> None:
        alice = security.add_user(ws, "alice", PASSWORD, "Dr Alice Example")
        security.add_user(ws, "bob", "battery staple", by=alice)
        ws.sign_in("alice", PASSWORD)

    with main_window(qtbot, home, "os-user", accounts) as win:
        yield win


def _open_dx(qtbot, win, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    handle = win.import_paths([shared_data / DX])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    qtbot.waitUntil(lambda: win.model.rowCount() == 1, timeout=10_000)
    (study,) = win.cache.list_studies()
    win.open_study(study.study_instance_uid, [])
    wait_study_open(qtbot, win, study.study_instance_uid)
    qtbot.wait(300)


def test_idle_lock_hides_every_phi_the_listener_keeps_receiving_and_unlock_needs_the_password(
        qtbot, signed_in, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    win = signed_in
    lock = win.lock_controller
    assert win.user == "alice" and not lock.locked
    _open_dx(qtbot, win, shared_data)
    assert phi_on_screen(), "the test study's patient should be on screen before the lock"
    lock.set_idle_timeout(400)  # the site's 10 minutes, injected
    qtbot.waitUntil(lambda: lock.locked, timeout=10_000)
    qtbot.wait(300)
    assert phi_on_screen() == []
    shot = win.screen().grabWindow(win.winId())
    shot.save(str(artifacts / "lock_screen.png"))
    pixels = qimage_to_array(shot.toImage())[..., :3]
    panel = lock.screen.panel.geometry()
    ratio = pixels.shape[1] / win.width()
    outside = np.ones(pixels.shape[:2], bool)
    y0, x0 = int(panel.top() * ratio), int(panel.left() * ratio)
    outside[y0:int((panel.bottom() + 1) * ratio), x0:int((panel.right() + 1) * ratio)] = False
    # outside the unlock form: the plain background only (no image, no text)
    assert (np.abs(pixels[outside].astype(int) - (0x20, 0x24, 0x28)).max(axis=1) <= 2).mean() > 0.999
    assert win.network.state().listening  # the listener keeps receiving while locked
    sent = subprocess.run(["storescu", "-aec", OUR_AET, "127.0.0.1", str(win.network.state().port),
                           str(shared_data / ARRIVING)], env=NODELAY_ENV, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    qtbot.waitUntil(lambda: len(win.cache.list_quarantine()) == 1, timeout=30_000)  # unsolicited: quarantined
    qtbot.wait(500)
    assert phi_on_screen() == [] and lock.locked
    from PySide6.QtWidgets import QMessageBox

    late = QMessageBox(QMessageBox.Icon.Information, "Arrived", "Dog^AVeryGood 123456", parent=win)
    late.setModal(False)
    late.show()  # a window opening while locked (a task's message...) is hidden at once
    qtbot.waitUntil(lambda: not late.isVisible(), timeout=5000)
    assert phi_on_screen() == []
    form = lock.screen.form
    form.password.setText("wrong password")
    form.submit()
    assert lock.locked and "wrong user name or password" in form.message.text().lower()
    form.password.setText(PASSWORD)
    form.submit()
    assert not lock.locked and win.viewer_area.isVisible() and win.windowTitle().startswith("Telerad Workstation")
    assert late.isVisible()  # non-modal windows come back
    late.close()
    records = [(r.event_type, r.outcome, r.user, json.loads(r.detail).get("what")) for r in win.audit.records()
               if r.event_id == "110114"]
    assert records[-3:] == [("110123", 0, "alice", "screen locked (idle)"), ("110122", 4, "alice", "unlock"),
                            ("110122", 0, "alice", "unlock")]


def test_lock_key_rate_limit_and_sign_in_of_another_user(qtbot, signed_in) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    win = signed_in
    lock = win.lock_controller
    assert lock.action.shortcut() == QKeySequence("Ctrl+Alt+L")
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    win.table.setFocus()
    qtbot.waitUntil(win.table.hasFocus, timeout=5000)
    qtbot.keyClick(win.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: lock.locked, timeout=5000)
    form = lock.screen.form
    for _ in range(3):
        form.password.setText("wrong password")
        form.submit()
    assert not form.button.isEnabled() and "wait" in form.message.text()  # held after the third failure
    form.password.setText(PASSWORD)
    form.submit()  # ignored while held
    assert lock.locked
    qtbot.waitUntil(lambda: form.button.isEnabled(), timeout=10_000)
    form.user.setCurrentText("bob")  # another radiologist takes over: alice's session ends
    form.password.setText("battery staple")
    form.submit()
    assert not lock.locked and win.ws.session.user == "bob"
    assert win.user == win.worklist_panel.user == win.report_area.user == "bob"
    events = [(r.event_type, r.outcome, r.user, json.loads(r.detail).get("what")) for r in win.audit.records()
              if r.event_id == "110114"]
    assert events[-6:] == [("110123", 0, "alice", "screen locked (on demand)")] + \
        [("110122", 4, "alice", "unlock")] * 3 + \
        [("110122", 0, "bob", "sign-in"), ("110123", 0, "alice", "session ended by the sign-in of bob")]


def test_no_account_is_lone_reader_mode_and_the_lock_key_says_why(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert window.ws.session is None and not window.ws.sign_in_required()
    assert window.lock_controller.lock() is False and not window.lock_controller.timer.isActive()
    assert "signed-in user" in window.statusBar().currentMessage()


def test_start_up_sign_in_and_first_account_dialogs(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.config import resolve_paths
    from app.ui.sign_in import FirstAccountDialog, SignInDialog
    from app.workstation import Workstation

    with Workstation(resolve_paths(str(tmp_path / "home")), "os-user") as ws:
        first = FirstAccountDialog(ws)
        qtbot.addWidget(first)
        first.name.setText("alice")
        first.display.setText("Dr Alice Example")
        first.password.setText(PASSWORD)
        first.again.setText("another one")
        first.create.click()
        assert first.result() == 0 and "differ" in first.message.text() and not ws.accounts.any()
        first.again.setText(PASSWORD)
        first.create.click()
        assert first.result() == 1 and ws.session.user == "alice" and ws.user == "alice"
        ws.sign_out()
        dialog = SignInDialog(ws)
        qtbot.addWidget(dialog)
        assert dialog.form.user.currentText() == "alice"  # the only account
        dialog.form.password.setText("wrong password")
        dialog.form.submit()
        assert dialog.result() == 0 and ws.session is None
        dialog.form.password.setText(PASSWORD)
        dialog.form.submit()
        assert dialog.result() == 1 and ws.session.user == "alice"
        assert ws.sign_in_required()
