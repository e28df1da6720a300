"""Measurements: physical lengths from the calibration, angles, ROI statistics, probe, serialisation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.viewer.calibration import Calibration, calibration_of
from app.viewer.measurements import Measurement, StudyAnnotations, evaluate, roi_mask, roi_stats


def test_length_uses_pixel_spacing(shared_data: Path) -> None:
    from app.dicom.codecs import read_dataset

    ds = read_dataset(sorted((shared_data / "ct/philips_phantom_study1_1mm").glob("*"))[10])
    cal = calibration_of(ds)
    row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
    assert (cal.row_mm, cal.col_mm, cal.source) == (row_mm, col_mm, "PixelSpacing")
    m = Measurement("length", [(100.0, 200.0), (400.0, 240.0)])
    result = evaluate(m, cal)
    assert result.values["length"] == pytest.approx(math.hypot(300 * col_mm, 40 * row_mm))
    assert result.label.endswith("mm")


def test_imager_pixel_spacing_is_flagged(shared_data: Path) -> None:
    from app.dicom.codecs import read_dataset

    cal = calibration_of(read_dataset(shared_data / "mg" / "GH133.dcm"))
    assert cal.source.startswith("ImagerPixelSpacing") and "detector" in cal.notice
    assert evaluate(Measurement("length", [(0.0, 0.0), (10.0, 0.0)]), cal).label.endswith("*")
    us = calibration_of(read_dataset(shared_data / "us" / "DIRW0007"))
    assert us.source == "US region" and us.col_mm == pytest.approx(0.5247813, rel=1e-4)
    none = calibration_of(read_dataset(shared_data / "us" / "US1_UNCR.dcm"))
    assert not none.calibrated and none.unit == "px"


def test_anisotropic_angle_and_cobb() -> None:
    cal = Calibration(row_mm=2.0, col_mm=1.0, source="PixelSpacing")
    right = evaluate(Measurement("angle", [(10.0, 0.0), (0.0, 0.0), (0.0, 5.0)]), cal).values["angle"]
    assert right == pytest.approx(90.0)
    # (2, 1) pixels is (2 mm, 2 mm): 45 degrees from the x axis only with the spacing applied
    tilted = evaluate(Measurement("angle", [(10.0, 0.0), (0.0, 0.0), (2.0, 1.0)]), cal).values["angle"]
    assert tilted == pytest.approx(45.0)
    cobb = evaluate(Measurement("cobb", [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 15.0)]), Calibration())
    assert cobb.values["angle"] == pytest.approx(math.degrees(math.atan2(5, 10)))


def test_roi_statistics_match_numpy_and_area_is_physical() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(-100, 100, (50, 60)).astype(np.int16)
    cal = Calibration(0.5, 0.25, "PixelSpacing")
    stats = roi_stats("rect", (10.0, 5.0), (19.0, 14.0), values, cal)
    block = values[5:15, 10:20].astype(float)
    assert stats["mean"] == pytest.approx(block.mean()) and stats["sd"] == pytest.approx(block.std())
    assert (stats["min"], stats["max"], stats["count"]) == (block.min(), block.max(), 100)
    assert stats["area"] == pytest.approx(9 * 0.25 * 9 * 0.5)
    mask, _ = roi_mask("ellipse", (0.0, 0.0), (20.0, 10.0), values.shape)
    assert mask.sum() < 21 * 11 and mask[5, 10] and not mask[0, 0]
    ellipse = evaluate(Measurement("ellipse", [(0.0, 0.0), (20.0, 10.0)]), cal, values, "CT")
    assert "HU" in ellipse.label and ellipse.values["area"] == pytest.approx(math.pi * 2.5 * 2.5)
    probe = evaluate(Measurement("probe", [(3.2, 4.7)]), cal, values, "CT")
    assert probe.values["value"] == values[5, 3]


def test_study_annotations_round_trip() -> None:
    notes = StudyAnnotations("1.2.3")
    m = Measurement("length", [(1.0, 2.0), (3.0, 4.0)], sop_uid="9.9", frame=2)
    notes.add(m)
    assert notes.toggle_key_image("9.9", 2)
    again = StudyAnnotations.from_dict(notes.to_dict())
    assert again.measurements[0].points == [(1.0, 2.0), (3.0, 4.0)]
    assert again.on_image("9.9", 2)[0].uid == m.uid and again.key_images == [("9.9", 2)]
    again.remove(m.uid)
    assert not again.measurements
