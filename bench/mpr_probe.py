"""MPR ready after a CT opens in 2D, from outside the process (issue 13, goal 2): `.venv/bin/python bench/mpr_probe.py`.

Under a private Xvfb, `telerad --unlock PWFILE run --open UID` of the 140-slice CT (and of a generated
500-slice one) in an account-protected folder (as a reader's: no first-account dialog); the probe polls the
X server (bench/xprobe.py) until the first 2D image is on screen, clicks the viewport (no window manager:
X focus follows the pointer), waits ``DELAY`` s, presses Ctrl+Alt+2 (View > MPR) through XTest and times
the MPR panes settled on screen. "MPR ready" is first 2D image -> MPR on screen, target <= 0.5 s with
DELAY = 0 (the reader asks for MPR the moment the 2D image appears); DELAY = 2 s shows what a reader meets
after a glance at the 2D image. Printed next to it, from the same launches: launch -> first 2D image.
Min / median over ``--runs``, load average; exit 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.pop("TELERAD_PLAINTEXT", None)  # an account-protected folder, as a reader's (no first-account dialog)
PASSWORD = "bench password 1"

from bench.open_probe import CT140, Probe, launch, make_long_series, stop  # noqa: E402
from bench.session import probe_main  # noqa: E402
from bench.xprobe import XScreen  # noqa: E402

QUIT = 14
results: list[bool] = []


def first_content(probe: Probe, start: float, blank: Any, timeout: float = 30.0) -> Optional[float]:
    """Monotonic time of the first grab that differs from ``blank`` and holds content (an image)."""
    while time.monotonic() - start < timeout:
        t, shot = time.monotonic(), probe.shot()
        if float(abs(shot - blank).mean()) > 3.0 and shot.std() > 4:
            return t
        time.sleep(0.004)
    return None


def one_run(probe: Probe, argv: list[str], env: dict[str, str], blank: Any, delay: float) -> tuple[Optional[float], ...]:
    """(launch -> first 2D image, first 2D image -> MPR on screen) seconds."""
    proc, t0 = launch(argv, env)
    try:
        shown = first_content(probe, t0, blank)
        if shown is None:
            return None, None
        probe.screen.click(200, 1000)  # the left viewport's black corner (no WM here: X focus follows the pointer)
        time.sleep(max(0.0, shown + delay - time.monotonic()))
        before = probe.shot()
        pressed = probe.screen.chord("Control_L", "Alt_L", "2")
        mpr = probe.until_settled(pressed, before, settle=1.5)
        return shown - t0, None if mpr is None else pressed - shown + mpr
    finally:
        stop(proc, max(0.0, QUIT + 5 - (time.monotonic() - t0)))


def report(name: str, values: list[Optional[float]], limit: Optional[float]) -> None:
    got = [v for v in values if v is not None]
    if not got:
        print(f"FAIL  {name}: not detected on screen", flush=True)
        results.append(False)
        return
    ok = len(got) == len(values) and (limit is None or min(got) <= limit)
    if limit is not None:
        results.append(ok)
    tag = ("PASS" if ok else "FAIL") if limit is not None else "info"
    print(f"{tag}  {name}: min {min(got):.3f} s median {statistics.median(got):.3f} s over {len(got)}/{len(values)}"
          f" runs{f' (target <= {limit} s)' if limit is not None else ''}", flush=True)


def run(args: argparse.Namespace, tmp: Path) -> None:
    from app.config import resolve_paths
    from app.workstation import Workstation, security
    from tests.xvfb import start_xvfb

    home = tmp / "home"
    make_long_series(tmp / "long", args.slices)
    pw = tmp / "pw"
    pw.write_text(PASSWORD + "\n")
    with Workstation(resolve_paths(str(home)), "bench") as ws:
        security.add_user(ws, "bench", PASSWORD)
        ws.import_paths([CT140, tmp / "long"])
        by_count = {len(ws.cache.list_instances(s.series_instance_uid)): s.study_instance_uid
                    for st in ws.cache.list_studies() for s in ws.cache.list_series(st.study_instance_uid)}
    shutil.rmtree(tmp / "long")
    display = start_xvfb()
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    probe = Probe(XScreen(display))
    blank = probe.shot()
    telerad = [sys.executable, "-m", "app", "--unlock", str(pw), "--data-dir", str(home), "run", "--no-demo", "--quit-after", str(QUIT)]
    for count in (140, args.slices):
        for delay in (0.0, 2.0):
            runs = [one_run(probe, [*telerad, "--open", by_count[count]], env, blank, delay) for _ in range(args.runs)]
            if delay == 0.0:
                report(f"{count}-slice CT: launch -> first 2D image (reference for the MPR figures)",
                       [r[0] for r in runs], None)
                report(f"{count}-slice CT: MPR ready (first 2D image -> MPR on screen, Ctrl+Alt+2 at once)",
                       [r[1] for r in runs], 0.5)
            else:
                report(f"{count}-slice CT: Ctrl+Alt+2 {delay:.0f} s after the first 2D image -> MPR on screen",
                       [None if r[1] is None else r[1] - delay for r in runs], None)
    probe.screen.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 runs, 300 slices instead of 500")
    args = parser.parse_args()
    args.slices = 300 if args.quick else 500
    if args.quick:
        args.runs = min(args.runs, 2)
    return probe_main("telerad-mpr-probe-", CT140, lambda tmp: run(args, tmp), results)


if __name__ == "__main__":
    sys.exit(main())
