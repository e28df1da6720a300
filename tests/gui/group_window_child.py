"""The second reader's window of tests/gui/test_group_two_windows.py, in its own process.

usage: group_window_child.py HOME GROUP_URL READER
Prints JSON lines: {"ready": n} once its worklist lists n studies, then {"uid", "claimed_by", "t"} each time a
row's "Claimed by" changes (t: time.time()). Reads commands on stdin: "open UID" (claims it, prints
{"opened": UID, "t": ...}), "quit"."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main() -> int:
    from PySide6.QtCore import QObject, QTimer, Signal
    from PySide6.QtWidgets import QApplication

    from app.config import resolve_paths
    from app.ui.main_window import MainWindow
    from app.workstation import Workstation

    home, url, reader = sys.argv[1:4]
    app = QApplication(sys.argv[:1])
    ws = Workstation(resolve_paths(home), reader)
    ws.group_url = url
    win = MainWindow(ws)
    win.show()
    win.refresh()
    if win.group_live is not None:  # timings of the live path (the test prints them)
        notify = win.group_live.notify
        win.group_live.notify = lambda: (say(notified=time.time()), notify())
        panel = win.worklist_panel
        original = panel.set_entries
        panel.set_entries = lambda entries: (say(entries_set=time.time()), original(entries))
    seen: dict[str, str] = {}
    state = {"ready": False}

    def poll() -> None:
        model = win.worklist_panel.model
        rows = {e.study_instance_uid: e.claimed_by or "" for e in model.entries()}
        if rows and not state["ready"]:
            state["ready"] = True
            seen.update(rows)
            say(ready=len(rows))
            return
        for uid, by in rows.items():
            if seen.get(uid) != by:
                seen[uid] = by
                say(uid=uid, claimed_by=by, t=time.time())

    class Commands(QObject):
        got = Signal(str)

    commands = Commands()

    def run(line: str) -> None:
        parts = line.split()
        if parts[:1] == ["open"]:
            win.open_study(parts[1], [])
            say(opened=parts[1], t=time.time())
        elif parts[:1] == ["quit"]:
            win.close()
            app.quit()

    commands.got.connect(run)
    threading.Thread(target=lambda: [commands.got.emit(line.strip()) for line in sys.stdin], daemon=True).start()
    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(10)
    code = app.exec()
    ws.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
