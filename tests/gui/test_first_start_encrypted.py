"""`make run`'s first start outside the plaintext mode of tests (issue 16 item 2): the first account is asked
before the window shows anything, its password encrypts the new data folder, the demo studies are imported
encrypted and shown; the next start needs the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.crypto.filecrypt import MAGIC

PASSWORD = "first start password"
DEMO_PATIENTS = (b"CompressedSamples", b"PLASTIC", b"ANON-1234")


def test_first_start_creates_the_account_then_imports_the_demo_encrypted(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.config import resolve_paths
    from app.ui import app as ui_app
    from app.ui.sign_in import FirstAccountDialog
    from app.workstation import Workstation

    monkeypatch.delenv("TELERAD_PLAINTEXT", raising=False)
    asked: list[bool] = []

    def fill_and_create(dialog: FirstAccountDialog) -> int:
        asked.append(not any(w.isVisible() and type(w).__name__ == "MainWindow" for w in QApplication.topLevelWidgets()))
        dialog.name.setText("alice")
        dialog.display.setText("Dr Alice Example")
        dialog.password.setText(PASSWORD)
        dialog.again.setText(PASSWORD)
        dialog.create.click()
        return dialog.result()

    monkeypatch.setattr(FirstAccountDialog, "exec", fill_and_create)
    shown: list[int] = []

    def watch() -> None:  # rows of the worklist once the demo import is through
        for w in QApplication.topLevelWidgets():
            if type(w).__name__ == "MainWindow" and w.model.rowCount():
                shown.append(w.model.rowCount())
                if w.model.rowCount() >= 5 and not w.bridge._running:  # demo import and encryption done
                    w.close()

    timer = QTimer()
    timer.timeout.connect(watch)
    timer.start(200)
    home = tmp_path / "home"
    assert ui_app.run_gui(resolve_paths(str(home)), "os-user", demo=True, quit_after_ms=25_000) == 0
    timer.stop()
    assert asked == [True]  # the account came first: no window before it
    assert shown and max(shown) >= 5  # the demo studies were listed in the window
    assert (home / "encryption.json").is_file()
    objects = [p for p in (home / "cache" / "objects").rglob("*") if p.is_file()]
    assert len(objects) > 100 and all(p.read_bytes()[:len(MAGIC)] == MAGIC for p in objects)
    holding = [str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()
               and any(n in p.read_bytes() for n in DEMO_PATIENTS)]
    assert holding == []
    with Workstation(resolve_paths(str(home)), "os-user") as ws:
        assert ws.sign_in_required()
        ws.sign_in("alice", PASSWORD)
        assert len(ws.cache.list_studies()) >= 4
