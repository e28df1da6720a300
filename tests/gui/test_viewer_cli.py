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


def test_screenshot_command_renders_study_layout(tmp_path: Path, shared_data: Path, artifacts: Path) -> None:
    from PIL import Image

    home = tmp_path / "home"
    done = _telerad(home, "import", str(shared_data / "ct/philips_phantom_study1_1mm"),
                    str(shared_data / "ct/philips_phantom_study2_tilted"))
    assert done.returncode == 0, done.stderr
    studies = _telerad(home, "studies").stdout.split()
    uid = next(w for w in studies if w.startswith("1.3.46.670589.33.1.2749"))
    out = artifacts / "cli_screenshot_2x2.png"
    done = _telerad(home, "screenshot", uid, "--out", str(out), "--layout", "2x2", "--size", "800x600", display=False)
    assert done.returncode == 0, done.stderr
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (600, 800, 3)
    assert_real_rendering(image[:299, :399])  # current study
    assert_real_rendering(image[:299, 401:])  # prior beside it
    assert image[320:, :].max() == 0  # the study has only two series: the bottom row stays empty
    assert (image[:30, :150].max(axis=-1) > 200).sum() > 30  # corner text
    green = (image[..., 1] > 200) & (image[..., 0] < 120)
    assert green.sum() > 100  # reference lines of the tilted prior
    bad = _telerad(home, "screenshot", "1.2.3.4", "--out", str(tmp_path / "x.png"), display=False)
    assert bad.returncode == 1 and "not in the cache" in bad.stderr
