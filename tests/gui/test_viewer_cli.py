"""`telerad screenshot` renders headless (no X display: offscreen EGL) with layout and overlays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.gui.conftest import assert_real_rendering


def _telerad(home: Path, *args: str, display: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if not display:
        env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "app.cli.main", "--data-dir", str(home), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_screenshot_command_hangs_the_study_as_the_window_does(tmp_path: Path, shared_data: Path,
                                                                artifacts: Path) -> None:
    from PIL import Image

    home = tmp_path / "home"
    done = _telerad(home, "import", str(shared_data / "ct/philips_phantom_study1_1mm"),
                    str(shared_data / "ct/philips_phantom_study2_tilted"))
    assert done.returncode == 0, done.stderr
    studies = _telerad(home, "studies").stdout.split()
    uid = next(w for w in studies if w.startswith("1.3.46.670589.33.1.2749"))
    out = artifacts / "cli_screenshot_ct_head_prior.png"
    done = _telerad(home, "screenshot", uid, "--out", str(out), "--size", "800x600", display=False)
    assert done.returncode == 0, done.stderr
    assert "CT head with prior, 2x2" in done.stdout  # the window's protocol (test_reading_room_hanging)
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (600, 800, 3)
    quads = {"brain": image[30:299, :399], "stroke": image[30:299, 401:],
             "prior brain": image[331:, :399], "prior stroke": image[331:, 401:]}
    for name, quad in quads.items():
        assert_real_rendering(quad), name
    # same slice twice, Brain (WW 80) beside Stroke (WW 40): the narrower window leaves fewer greys at the edges
    img = image.astype(int)
    grey = lambda q: ((q[..., 0] > 20) & (q[..., 0] < 235) & (abs(q[..., 0] - q[..., 2]) < 8)).sum()  # noqa: E731
    for top in (40, 340):
        brain, stroke = grey(img[top:top + 210, :399]), grey(img[top:top + 210, 401:])
        assert stroke < 0.97 * brain, (top, brain, stroke)
    assert (image[:30, :150].max(axis=-1) > 200).sum() > 30  # corner text
    green = (image[..., 1] > 200) & (image[..., 0] < 120)
    assert green.sum() > 100  # reference lines of the tilted prior (the protocol turns them on)
    wide = artifacts / "cli_screenshot_1x2.png"
    done = _telerad(home, "screenshot", uid, "--out", str(wide), "--layout", "1x2", "--size", "400x200", display=False)
    assert done.returncode == 0 and "CT head with prior, 1x2" in done.stdout, done.stderr
    bad = _telerad(home, "screenshot", "1.2.3.4", "--out", str(tmp_path / "x.png"), display=False)
    assert bad.returncode == 1 and "not in the cache" in bad.stderr
