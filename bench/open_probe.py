"""Open-to-image benchmark from outside the process (issue 13, goal 1): `.venv/bin/python bench/open_probe.py`.

Under a private Xvfb, launches the real `telerad run` and polls the X server's root window (ctypes over
libX11, bench/xprobe.py) until the viewport shows the study's image, i.e. the time from launch (or from
the key press) to the first grab from which the centre of the screen stays at its final, non-blank
content. Cases, each min and median over ``--runs``:
  * `telerad run --open UID` of the 140-slice CT: first image <= 1.0 s after launch;
  * the same for a 2,000-slice 512x512 CT generated from it (in a temporary folder removed afterwards;
    ``--quick``: 500 slices): within 1.2x the 140-slice figure;
  * `telerad run`, then Return on the worklist (XTest key press): first study <= 0.3 s after the press;
    then F9, Down, Return: a later study <= 0.15 s.
Reference in the same run: Aeskulap when installed, else a process that imports PySide6 + pydicom + numpy
and shows an empty full-screen window (launch to its pixels). Prints load average; exit 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CT140 = DATA / "ct" / "philips_phantom_study1_1mm"
sys.path.insert(0, str(REPO))
os.environ.setdefault("TELERAD_PLAINTEXT", "1")  # the unencrypted figures (bench/atrest.py compares both)

from bench.session import probe_main  # noqa: E402
from bench.xprobe import XScreen, first_match, thumb  # noqa: E402

BOX = (330, 420, 300, 300)  # x, y, w, h on the 1920x1200 screen: inside the first viewport's image, left of
# the first-account dialog (offered at every start while no account exists)
REFERENCE_CODE = (
    "import sys, numpy, pydicom\n"
    "from PySide6.QtWidgets import QApplication, QWidget\n"
    "app = QApplication(sys.argv[:1]); w = QWidget(); w.setStyleSheet('background:qlineargradient(x1:0,y1:0,x2:1,y2:1,stop:0 #000,stop:1 #fff)')\n"
    "w.setGeometry(w.screen().geometry()); w.show(); app.exec()\n")
QUIT_OPEN, QUIT_WORKLIST = 9, 22  # seconds: --quit-after of the launches (each settles well before)
results: list[bool] = []


class Probe:
    """Grabs the centre of the screen until it settles on content."""

    def __init__(self, screen: XScreen) -> None:
        self.screen = screen

    def shot(self) -> Any:
        return thumb(self.screen.grab(*BOX))

    def until_settled(self, start: float, before: Any = None, settle: float = 1.5, timeout: float = 40.0,
                      tol: float = 3.0) -> Optional[float]:
        """Seconds from ``start`` to the first grab of the final content (differing from ``before``)."""
        samples: list[tuple[float, Any]] = []
        while time.monotonic() - start < timeout:
            t, shot = time.monotonic(), self.shot()
            samples.append((t, shot))
            changed = before is None or float(abs(shot - before).mean()) > tol
            if changed and shot.std() > 4 and t - start > settle:
                recent = [s for ts, s in samples if ts >= t - settle]
                if all(float(abs(s - shot).mean()) <= tol for s in recent) and samples[0][0] < t - settle:
                    found = first_match(samples, shot, tol)
                    return None if found is None else found - start
            time.sleep(0.004)
        return None


def launch(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    t = time.monotonic()
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO), t


def stop(proc: subprocess.Popen, grace: float = 0.0) -> None:
    """Let the window close itself (--quit-after: a clean shutdown of the cache), else terminate it."""
    try:
        proc.wait(grace)
        return
    except subprocess.TimeoutExpired:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def time_launch(probe: Probe, argv: list[str], env: dict[str, str], blank: Any, grace: float = 0.0) -> Optional[float]:
    proc, t0 = launch(argv, env)
    try:
        return probe.until_settled(t0, blank)
    finally:
        stop(proc, max(0.0, grace - (time.monotonic() - t0)))


def time_worklist(probe: Probe, telerad: list[str], env: dict[str, str], blank: Any) -> tuple[Optional[float], ...]:
    """Launch, let it go idle, Return on the worklist; then F9, Down, Return: (first, later) seconds."""
    screen = probe.screen
    (Path(telerad[-1]) / "config" / "window.ini").unlink(missing_ok=True)  # the worklist in view (not as left
    # by a reading-mode run: the window saves its splitter on close)
    proc, t0 = launch([*telerad, "run", "--no-demo", "--quit-after", str(QUIT_WORKLIST)], env)
    try:
        time.sleep(8.0)  # the window is up and idle: it warmed the viewer up after its first paint
        screen.key("Escape")  # the first-account dialog ("Not now")
        time.sleep(0.3)
        screen.click(300, 1100)  # the worklist table (empty area below the rows): keyboard focus
        time.sleep(0.3)
        screen.key("Home")
        time.sleep(0.5)
        before = probe.shot()
        first = probe.until_settled(screen.key("Return"), before)
        screen.key("F9")
        time.sleep(1.0)
        screen.click(300, 1100)
        time.sleep(0.3)
        screen.key("Down")
        time.sleep(0.8)
        before = probe.shot()
        later = probe.until_settled(screen.key("Return"), before)
        if os.environ.get("OPEN_PROBE_SHOT"):  # debugging: the screen at the end
            from PIL import Image

            Image.fromarray(screen.grab(0, 0, 1920, 1200)).save(os.environ["OPEN_PROBE_SHOT"])
        return first, later
    finally:
        stop(proc, max(0.0, QUIT_WORKLIST + 5 - (time.monotonic() - t0)))


def make_long_series(folder: Path, count: int) -> None:
    """``count`` 512x512 slices (1 mm apart) built from the 140-slice CT's pixels, new UIDs."""
    import pydicom
    from pydicom.uid import generate_uid

    sources = sorted((p for p in CT140.iterdir() if p.name != "DIRFILE"), key=lambda p: p.name)
    template = [pydicom.dcmread(p) for p in sources[60:80]]  # mid-head slices
    study, series = generate_uid(), generate_uid()
    folder.mkdir(parents=True)
    for i in range(count):
        ds = template[i % len(template)]
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1], float(i)]
        ds.SliceLocation = float(i)
        ds.PatientID, ds.PatientName = "LONG2000", "LONG^SERIES"
        ds.save_as(folder / f"s{i:05d}.dcm")


def figure(name: str, values: list[Optional[float]], limit: Optional[float], ref: str) -> Optional[float]:
    got = [v for v in values if v is not None]
    if not got:
        print(f"FAIL  {name}: no image detected on screen ({len(values)} runs)", flush=True)
        results.append(False)
        return None
    vmin, vmed = min(got), statistics.median(got)
    ok = len(got) == len(values) and (limit is None or vmin <= limit)
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: min {vmin:.3f} s median {vmed:.3f} s over {len(got)}/{len(values)}"
          f" runs (target <= {limit} s); {ref}", flush=True)
    return vmin


def run(args: argparse.Namespace, tmp: Path) -> None:
    from app.config import resolve_paths
    from app.workstation import Workstation
    from tests.xvfb import start_xvfb

    home = tmp / "home"
    t = time.monotonic()
    make_long_series(tmp / "long", args.slices)
    with Workstation(resolve_paths(str(home)), "bench") as ws:
        ws.import_paths([CT140, tmp / "long"])
        by_count = {len(ws.cache.list_instances(s.series_instance_uid)): s.study_instance_uid
                    for st in ws.cache.list_studies() for s in ws.cache.list_series(st.study_instance_uid)}
    uid140, uid_long = by_count[140], by_count[args.slices]
    shutil.rmtree(tmp / "long")
    print(f"setup: 140-slice CT + generated {args.slices}-slice CT imported in {time.monotonic() - t:.1f} s",
          flush=True)
    display = start_xvfb()
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    screen = XScreen(display)
    probe = Probe(screen)
    blank = probe.shot()
    telerad = [sys.executable, "-m", "app", "--data-dir", str(home)]
    aeskulap = shutil.which("aeskulap")
    if aeskulap:
        ref_argv, ref_name = [aeskulap, str(CT140)], "Aeskulap (launch to image)"
    else:
        ref_argv, ref_name = [sys.executable, "-c", REFERENCE_CODE], \
            "Aeskulap not installed; reference: import PySide6+pydicom+numpy and show an empty window"
    ref = [time_launch(probe, ref_argv, env, blank) for _ in range(args.runs)]
    got_ref = [r for r in ref if r is not None]
    rmin = min(got_ref) if got_ref else float("nan")
    print(f"ref   {ref_name}: min {rmin:.3f} s median {statistics.median(got_ref) if got_ref else float('nan'):.3f} s",
          flush=True)
    open140 = [time_launch(probe, [*telerad, "run", "--open", uid140, "--quit-after", str(QUIT_OPEN)], env,
                                  blank, QUIT_OPEN + 5) for _ in range(args.runs)]
    a = figure("telerad run --open, 140-slice CT: launch to first image", open140, 1.0,
               f"ratio to reference {min(v for v in open140 if v) / rmin:.2f}x" if any(open140) else "")
    open_long = [time_launch(probe, [*telerad, "run", "--open", uid_long, "--quit-after", str(QUIT_OPEN)], env,
                             blank, QUIT_OPEN + 5) for _ in range(args.runs)]
    b = figure(f"telerad run --open, {args.slices}-slice CT: launch to first image", open_long, 1.0,
               f"ratio to the 140-slice case {min(v for v in open_long if v) / a:.2f}x (target <= 1.2x)"
               if a and any(open_long) else "")
    if a and b:
        ok = b <= 1.2 * a
        results.append(ok)
        print(f"{'PASS' if ok else 'FAIL'}  series length: {args.slices} slices / 140 slices = {b / a:.2f}x "
              f"(target <= 1.2x)", flush=True)
    pairs = [time_worklist(probe, telerad, env, blank) for _ in range(args.runs)]
    figure("worklist Return -> first study's image (first open after launch)", [p[0] for p in pairs], 0.3,
           "key press to pixels")
    figure("worklist F9, Down, Return -> a later study's image", [p[1] for p in pairs], 0.15,
           "key press to pixels")
    screen.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="500 instead of 2,000 slices, 3 runs")
    args = parser.parse_args()
    if args.quick:
        args.runs = min(args.runs, 3)
    args.slices = 500 if args.quick else 2000
    return probe_main("telerad-open-probe-", CT140, lambda tmp: run(args, tmp), results)


if __name__ == "__main__":
    sys.exit(main())
