"""Acceptance of the composition root: the same reading session through the CLI and through the window's use
cases ends in the same worklist state (final after signing, amended after a signed addendum, the critical
finding on the row), read back with `telerad worklist --json` and seen in the worklist panel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.core.report_fixtures import make_pki, study_files

REPO = Path(__file__).resolve().parents[2]
CRITICAL = "Acute left subdural haematoma"
KEYS = ("status", "report_status", "flags", "critical", "critical_text", "claimed_by", "delivery")


def telerad(home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TELERAD_HOME"}
    env["USER"] = env["LOGNAME"] = "dr.session"  # the same reader in both sessions
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def worklist_row(home: Path) -> dict[str, Any]:
    [row] = json.loads(telerad(home, "worklist", "--json"))
    return {k: row[k] for k in KEYS}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    (pki.p12.parent / "pw").write_bytes(pki.password)
    return pki


def _texts(folder: Path) -> tuple[Path, Path]:
    report, addendum = folder / "report.txt", folder / "addendum.txt"
    report.write_text(f"Findings:\n{CRITICAL}, 9 mm.\n\nImpression:\n{CRITICAL}.\n")
    addendum.write_text("Impression:\nLeft, not right: corrected laterality.\n")
    return report, addendum


def cli_session(home: Path, files: list[Path], pki: Any, folder: Path) -> list[dict[str, Any]]:
    report, addendum = _texts(folder)
    telerad(home, "import", *map(str, files))
    uid = json.loads(telerad(home, "studies", "--json"))[0]["study_instance_uid"]
    states = []
    telerad(home, "worklist", "open", uid)
    telerad(home, "report", "draft", uid, "--template", "ct-head", "--text-file", str(report))
    telerad(home, "report", "critical", uid, "--set", CRITICAL)
    states.append(worklist_row(home))
    sign = ("report", "sign", uid, "--p12", str(pki.p12), "--password-file", str(pki.p12.parent / "pw"))
    telerad(home, *sign, "--communicated-to", "Dr Bob Referrer", "--via", "phone", "--read-back")
    states.append(worklist_row(home))
    telerad(home, "report", "addendum", uid, "--text-file", str(addendum), "--note", "laterality")
    telerad(home, *sign)
    states.append(worklist_row(home))
    return states


def window_session(qtbot: Any, home: Path, files: list[Path], pki: Any, artifacts: Path) -> list[dict[str, Any]]:
    from app.config import Paths
    from app.ui.main_window import MainWindow
    from app.ui.worklist_model import COL
    from app.workstation import Workstation

    states, cells = [], []
    ws = Workstation(Paths(home, home / "config"), "dr.session")
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.show()
    try:
        handle = window.import_paths(files)
        qtbot.waitUntil(lambda: handle.done and window.model.rowCount() == 1, timeout=60_000)
        uid = window.model.entry_at(0).study_instance_uid
        window.open_study(uid, [])
        editor = window.report_area
        editor.template_box.setCurrentIndex(editor.template_box.findData("ct-head"))
        editor.template_box.activated.emit(editor.template_box.currentIndex())
        editor.sections.edits["findings"].setPlainText(f"{CRITICAL}, 9 mm.")
        editor.sections.edits["impression"].setPlainText(f"{CRITICAL}.")
        editor.critical_text.setText(CRITICAL)
        editor.critical_box.setChecked(True)

        def sign() -> None:
            with qtbot.waitSignal(editor.report_signed, timeout=120_000):
                editor.sign_with(pki.p12, pki.password)
            qtbot.wait(50)

        def record() -> None:
            states.append(worklist_row(home_copy(home)))
            cells.append(window.model.index(window.model.row_of(uid), COL["status"]).data())

        record()
        notice = editor.open_notice_dialog()  # the closed loop: who was told, before signing
        notice.recipient.setText("Dr Bob Referrer")
        notice.read_back.setChecked(True)
        notice.accept()
        sign()
        record()
        editor.start_addendum()
        editor.sections.edits["impression"].setPlainText("Left, not right: corrected laterality.")
        sign()
        record()
        qtbot.wait(1200)  # the editor's state line refreshes every second
        window.screen().grabWindow(window.winId()).save(str(artifacts / "reading_session_window.png"))  # VTK: from X
    finally:
        window.close()
        ws.close()
    assert cells == ["CRITICAL (not told) · in progress", "CRITICAL · final", "CRITICAL · amended"]
    return states


def home_copy(home: Path) -> Path:
    """The window holds the cache lock: the CLI reads a consistent copy of the data dir (WAL included)."""
    import shutil
    import sqlite3

    copy = home.parent / "copy"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir()
    for name in ("worklist.sqlite", "reports.sqlite"):
        source, target = sqlite3.connect(home / name), sqlite3.connect(copy / name)
        source.backup(target)
        source.close()
        target.close()
    shutil.copytree(home / "cache", copy / "cache", ignore=shutil.ignore_patterns("lock", "*-wal", "*-shm"))
    with sqlite3.connect(home / "cache" / "cache.sqlite") as source, \
            sqlite3.connect(copy / "cache" / "cache.sqlite") as target:
        source.backup(target)
    return copy


def test_cli_and_window_sessions_end_in_the_same_worklist_state(qtbot, tmp_path: Path, shared_data: Path,  # type: ignore[no-untyped-def]
                                                                   pki, artifacts: Path) -> None:
    files = study_files(shared_data)[:20]
    cli = cli_session(tmp_path / "cli", files, pki, tmp_path)
    window = window_session(qtbot, tmp_path / "gui" / "home", files, pki, artifacts)
    expected_flags = [["critical", "critical-not-communicated"], ["critical"], ["critical"]]  # told, then signed
    assert [s["status"] for s in cli] == ["in_progress", "final", "amended"]
    assert [s["report_status"] for s in cli] == ["draft", "final", "addended"]
    assert [s["flags"] for s in cli] == expected_flags
    assert all(s["critical"] and s["critical_text"] == CRITICAL for s in cli)
    assert all(s["claimed_by"] == "dr.session" for s in cli)
    assert window == cli
