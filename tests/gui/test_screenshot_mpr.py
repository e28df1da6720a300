"""`telerad screenshot STUDY_UID --mpr` renders the MPR layout headless."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.gui.conftest import assert_real_rendering


def _telerad(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}  # headless: no X needed
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), *args],
                          capture_output=True, text=True, timeout=240, env=env)


def test_mpr_screenshot_of_the_tilted_ct(tmp_path: Path, shared_data: Path, artifacts: Path) -> None:
    home = tmp_path / "home"
    assert _telerad(home, "import", str(shared_data / "ct" / "philips_phantom_study2_tilted")).returncode == 0
    (study,) = json.loads(_telerad(home, "studies", "--json").stdout)
    out = artifacts / "cli_screenshot_mpr.png"
    proc = _telerad(home, "screenshot", study["study_instance_uid"], "--mpr", "--out", str(out), "--size", "900x700")
    assert proc.returncode == 0, proc.stderr
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert pixels.shape == (700, 900, 3)
    assert_real_rendering(pixels)
    bad = _telerad(home, "screenshot", "1.2.3", "--mpr", "--out", str(tmp_path / "x.png"))
    assert bad.returncode == 1 and "not in the cache" in bad.stderr
