"""The reading room on a 2560x1440 monitor (its own Xvfb, in a child process): viewport coverage in the
default layout with the report open and in reading mode, the chrome's luminance (dark theme), screenshots;
two monitors (Qt's offscreen platform with a two-screen layout): images on one, worklist and report on the
other, restored on the next start; `telerad run --open STUDY_UID`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(r'''
    import json, os, subprocess, sys, time
    from pathlib import Path
    home, data, artifacts = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    import tests.xvfb as xv  # its start-up (retries, answer check, dies with us), on a 2560x1440 screen
    _popen = subprocess.Popen
    xv.subprocess.Popen = lambda args, **kw: _popen([a.replace("1920x1200", "2560x1440") for a in args], **kw)
    os.environ["DISPLAY"] = xv.start_xvfb()
    xv.subprocess.Popen = _popen
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    import numpy as np
    from PySide6.QtWidgets import QApplication
    from app.config import resolve_paths
    from app.workstation import Workstation
    from app.ui.main_window import MainWindow

    def wait(cond, timeout=60):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        return cond()

    def measure(win, name):
        screen = win.screen()
        area = screen.geometry().width() * screen.geometry().height()
        covered = 0
        mask = np.zeros((screen.geometry().height(), screen.geometry().width()), bool)
        for v in win.viewer_area.viewer.viewports:
            if v.vtk.isVisible():
                top = v.vtk.mapToGlobal(v.vtk.rect().topLeft())
                x0, y0 = max(top.x(), 0), max(top.y(), 0)
                x1, y1 = min(top.x() + v.vtk.width(), mask.shape[1]), min(top.y() + v.vtk.height(), mask.shape[0])
                mask[y0:y1, x0:x1] = True
        shot = screen.grabWindow(0).toImage()
        shot.save(str(artifacts / f"reading_room_{name}.png"))
        from PySide6.QtGui import QImage
        img = shot.convertToFormat(QImage.Format.Format_RGB888)
        px = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
        px = px[:, : img.width() * 3].reshape(img.height(), img.width(), 3).astype(float)
        lum = 0.2126 * px[..., 0] + 0.7152 * px[..., 1] + 0.0722 * px[..., 2]
        win_mask = np.zeros_like(mask)
        g = win.frameGeometry()
        win_mask[max(g.y(), 0):g.y() + g.height(), max(g.x(), 0):g.x() + g.width()] = True
        chrome = lum[win_mask & ~mask]
        return {"coverage": float(mask.sum()) / area, "chrome_median": float(np.median(chrome)),
                "window": [g.x(), g.y(), g.width(), g.height()], "screen": [screen.geometry().width(),
                                                                             screen.geometry().height()]}

    app = QApplication(sys.argv[:1])
    paths = resolve_paths(str(home))
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    with Workstation(paths, "tester") as ws:
        ws.import_paths([data / "ct" / "philips_phantom_study2_tilted"])
        uid = ws.cache.list_studies()[0].study_instance_uid
        win = MainWindow(ws)
        win.setGeometry(win.screen().availableGeometry())
        win.showMaximized()
        win.refresh()
        win.open_study(uid, [])
        wait(lambda: win.viewer_area.viewer is not None and not win.bridge.running()
             and win.viewer_area.viewer.active.model.has_image and win.report_area.report is not None)
        out["default"] = measure(win, "default_2560x1440")
        out["report_visible"] = win.report_area.isVisible() and win.report_area.width() > 300
        win.set_reading_mode(True)
        wait(lambda: False, 1)
        out["reading"] = measure(win, "reading_mode_2560x1440")
        win.set_reading_mode(False)
        win.set_theme("light")  # the reference, same run: the light theme's chrome
        wait(lambda: False, 1)
        out["light"] = measure(win, "default_light_2560x1440")
        win.set_theme("dark")
        win.close()
    print("RESULT " + json.dumps(out), flush=True)
    os._exit(0)  # Xvfb dies with this process (PR_SET_PDEATHSIG); no X teardown race
''')

SCREENS = {"screens": [
    {"name": "left", "x": 0, "y": 0, "width": 2560, "height": 1440, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1},
    {"name": "right", "x": 2560, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "logicalBaseDpi": 96,
     "dpr": 1}]}

TWO_SCREENS = textwrap.dedent(r'''
    import json, sys
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from app.config import resolve_paths
    from app.workstation import Workstation
    from app.ui.main_window import MainWindow
    home, step = Path(sys.argv[1]), sys.argv[2]
    app = QApplication(sys.argv[:1])
    paths = resolve_paths(str(home))
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    with Workstation(paths, "tester") as ws:
        win = MainWindow(ws)
        if step == "choose":
            assert win.arrange_screens("right", "left")
        for _ in range(10):
            app.processEvents()
        panels = win.panels_window
        out = {"screens": [s.name() for s in app.screens()], "images": win.screen().name(),
               "panels": panels.screen().name() if panels is not None else None,
               "worklist_in_panels": panels is not None and panels.isAncestorOf(win.worklist_panel),
               "report_in_panels": panels is not None and panels.isAncestorOf(win.report_area)}
        win.close()
    print("RESULT " + json.dumps(out))
''')


def _run(script: str, *args: str, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=240,
                          cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_viewports_fill_the_2560x1440_screen_and_the_chrome_is_dark(tmp_path: Path, shared_data: Path,
                                                                    artifacts: Path) -> None:
    out = _run(PROBE, str(tmp_path / "home"), str(shared_data), str(artifacts))
    print(out)
    assert out["default"]["screen"] == [2560, 1440]
    assert out["report_visible"]
    assert out["default"]["coverage"] >= 0.55, out
    assert out["reading"]["coverage"] >= 0.90, out
    assert out["default"]["chrome_median"] <= 50, out
    assert out["light"]["chrome_median"] > 150, out  # the measure sees a light chrome when there is one
    assert out["reading"]["window"] == [0, 0, 2560, 1440], out


def test_two_screens_images_on_one_panels_on_the_other_restored_next_start(tmp_path: Path) -> None:
    layout = tmp_path / "screens.json"
    layout.write_text(json.dumps(SCREENS))
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={layout}"
    first = _run(TWO_SCREENS, str(tmp_path / "home"), "choose", env=env)
    assert first["screens"] == ["left", "right"]
    assert first == {**first, "images": "right", "panels": "left", "worklist_in_panels": True,
                     "report_in_panels": True}
    again = _run(TWO_SCREENS, str(tmp_path / "home"), "restart", env=env)
    assert again == first  # the arrangement of this monitor set-up came back on the next start


def test_telerad_run_open_opens_the_study_for_reading(tmp_path: Path, shared_data: Path) -> None:
    from app.config import resolve_paths
    from app.workstation import Workstation

    home = tmp_path / "home"
    with Workstation(resolve_paths(str(home)), "tester") as ws:
        ws.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted"])
        uid = ws.cache.list_studies()[0].study_instance_uid
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), "run", "--open", uid,
                           "--quit-after", "6"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with Workstation(resolve_paths(str(home)), "tester") as ws:
        assert "110103" in [r.event_id for r in ws.audit.records()]  # the study was opened (access audited)
