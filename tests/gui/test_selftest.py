"""`telerad --selftest`: exit 0 and a real (non-blank) PNG; a failure is one line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.gui.conftest import assert_real_rendering

REPO = Path(__file__).resolve().parents[2]


def test_selftest_writes_a_real_png_and_cleans_up(tmp_path: Path, artifacts: Path) -> None:
    out, scratch = tmp_path / "selftest.png", tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "TELERAD_HOME": str(tmp_path / "must-stay-unused")}
    proc = subprocess.run([sys.executable, "-m", "app", "--selftest", "--out", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for stage in ("window", "codecs", "text", "vtk", "import", "slice", "mpr", "png"):
        assert f"  {stage} " in proc.stdout, proc.stdout
    assert "140 instances" in proc.stdout
    pixels = np.asarray(Image.open(out).convert("RGB"))
    Image.fromarray(pixels).save(artifacts / "selftest.png")
    assert pixels.shape[0] >= 512 and pixels.shape[1] >= 3 * 512
    assert_real_rendering(pixels, min_colours=50)
    # the three panels (window, slice, MPR) each carry an image, not just the background
    for part in np.array_split(pixels[60:], 3, axis=1):
        assert part.std() > 10
    assert list(scratch.iterdir()) == [], "the temporary cache was not removed"
    assert not (tmp_path / "must-stay-unused").exists(), "the selftest touched the user's data folder"


def test_selftest_failure_is_one_line_and_non_zero(qapp, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import app.ui.selftest as selftest

    monkeypatch.setattr(selftest, "DEMO_STUDY", "no-such-study")
    assert selftest.run_selftest(None) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("telerad selftest: FAILED at import: demo study missing"), err
