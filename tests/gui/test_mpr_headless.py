"""render_mpr_png: the MPR layout of a cached study as a PNG, with and without an X display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.importer import import_paths
from app.store import Cache
from app.viewer.mpr.headless import render_mpr_png
from tests.core.pixel_helpers import MR_SAG_DIR, TILTED_DIR
from tests.gui.conftest import assert_real_rendering

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    root = tmp_path_factory.mktemp("mprcache") / "cache"
    c = Cache.open(root)
    import_paths(c, [shared_data / MR_SAG_DIR, shared_data / TILTED_DIR, shared_data / "ct" / "single"])
    c.close()
    return root


def _study(c: Cache, modality: str, min_instances: int = 8) -> str:
    return next(s.study_instance_uid for s in c.list_studies()
                if modality in s.modalities and s.num_instances >= min_instances)


def test_mpr_png_of_the_sagittal_mr(cache_dir: Path, artifacts: Path) -> None:
    c = Cache.open(cache_dir)
    try:
        out = artifacts / "mpr_headless_mr.png"
        render_mpr_png(c, _study(c, "MR"), out, size=(800, 600))
    finally:
        c.close()
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert pixels.shape == (600, 800, 3)
    assert_real_rendering(pixels)
    for row, col in ((0, 0), (0, 1), (1, 0), (1, 1)):  # every pane has content (the 3D one too)
        pane = pixels[row * 300 + 30:(row + 1) * 300 - 30, col * 400 + 30:(col + 1) * 400 - 30]
        assert pane.std() > 10, (row, col)


def test_without_x_display_and_refusal_of_single_images(cache_dir: Path, tmp_path: Path) -> None:
    c = Cache.open(cache_dir)
    try:
        tilted = _study(c, "CT", 20)
        single = next(s.study_instance_uid for s in c.list_studies() if s.num_instances == 1)
        with pytest.raises(ValueError, match="no series"):
            render_mpr_png(c, single, tmp_path / "x.png")
    finally:
        c.close()
    out = tmp_path / "tilted.png"
    code = ("import sys; from pathlib import Path; from app.store import Cache; "
            "from app.viewer.mpr.headless import render_mpr_png; c = Cache.open(Path(sys.argv[1])); "
            "render_mpr_png(c, sys.argv[2], sys.argv[3], size=(600, 450)); c.close()")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-c", code, str(cache_dir), tilted, str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert pixels.shape == (450, 600, 3)
    assert pixels[240:440, 310:590].std() > 10  # the 3D pane rendered offscreen without X (EGL)
