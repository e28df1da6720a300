"""The `telerad` command line, run as a real process against a temporary cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def telerad(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELERAD_HOME"}
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), *args],
                          capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    home = tmp_path_factory.mktemp("home")
    telerad(home, "import", str(shared_data / "ct" / "philips_phantom_study2_tilted"),
            str(shared_data / "mr" / "single"), str(shared_data / "us" / "DIRW0007"))
    return home


def test_import_summary_and_studies_json(small_cache: Path, shared_data: Path) -> None:
    studies = json.loads(telerad(small_cache, "studies", "--json").stdout)
    required = {"study_instance_uid", "patient_id", "patient_name", "study_date", "modalities", "series", "instances"}
    assert all(required <= set(s) for s in studies)
    by_modality = {tuple(s["modalities"]): s for s in studies}
    ct = by_modality[("CT",)]
    assert ct["patient_id"] == "PLASTIC" and ct["instances"] == 54 and ct["series"] == 1
    assert by_modality[("US",)]["instances"] == 1
    again = telerad(small_cache, "import", "--json", str(shared_data / "ct" / "philips_phantom_study2_tilted"))
    summary = json.loads(again.stdout)
    assert summary["duplicates"] == 54 and summary["imported"] == 0 and summary["skipped"] == 1


def test_show_renders_file_series_and_study(small_cache: Path, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "file.png"
    telerad(small_cache, "show", str(shared_data / "ct" / "single" / "CT_small.dcm"), "--png", str(out), "--window", "40,400")
    assert Image.open(out).size == (128, 128)
    ct = next(s for s in json.loads(telerad(small_cache, "studies", "--json").stdout) if s["modalities"] == ["CT"])
    study_png = tmp_path / "study.png"
    telerad(small_cache, "show", ct["study_instance_uid"], "--png", str(study_png))
    pixels = np.asarray(Image.open(study_png))
    assert pixels.shape == (512, 512) and pixels.std() > 10
    cine = tmp_path / "cine.png"
    us = next(s for s in json.loads(telerad(small_cache, "studies", "--json").stdout) if s["modalities"] == ["US"])
    telerad(small_cache, "show", us["study_instance_uid"], "--png", str(cine), "--frame", "3")
    assert np.asarray(Image.open(cine)).shape == (456, 576, 3)


def test_show_errors_are_clear(small_cache: Path, shared_data: Path, tmp_path: Path) -> None:
    unknown = telerad(small_cache, "show", "1.2.3.4.5", "--png", str(tmp_path / "x.png"), check=False)
    assert unknown.returncode == 1 and "neither a file nor a UID" in unknown.stderr
    sr = telerad(small_cache, "show", str(shared_data / "sr" / "test-SR.dcm"), "--png", str(tmp_path / "y.png"), check=False)
    assert sr.returncode == 1 and "not an image" in sr.stderr
    assert not (tmp_path / "y.png").exists()


def test_delete_removes_the_study(tmp_path: Path, shared_data: Path) -> None:
    home = tmp_path / "home"
    telerad(home, "import", str(shared_data / "mr" / "single" / "MR_small.dcm"))
    (study,) = json.loads(telerad(home, "studies", "--json").stdout)
    telerad(home, "delete", study["study_instance_uid"])
    assert json.loads(telerad(home, "studies", "--json").stdout) == []
    objects = [p for p in (home / "cache").rglob("*") if p.is_file() and p.suffix == ".dcm"]
    assert objects == []
    assert telerad(home, "delete", study["study_instance_uid"], check=False).returncode == 1


def test_data_dir_and_env_select_the_cache(tmp_path: Path) -> None:
    from app.config import resolve_paths

    assert resolve_paths(str(tmp_path)).cache == tmp_path / "cache"
    os.environ["TELERAD_HOME"] = str(tmp_path / "env")
    try:
        assert resolve_paths(None).home == tmp_path / "env"
        assert resolve_paths(str(tmp_path)).home == tmp_path
    finally:
        del os.environ["TELERAD_HOME"]
