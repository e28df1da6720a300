"""Report insertions a radiologist would sign: a measurement goes in as shown on screen (its precision) with
series and image numbers; a key image as the viewport shows it; Comparison filled from the prior on screen."""

from __future__ import annotations

from pathlib import Path

import numpy as np



def _ready(window) -> bool:  # type: ignore[no-untyped-def]
    v = window.viewer_area.viewer
    return (v is not None and not window.bridge.running() and window.report_area.report is not None
            and all(p.model.has_image for p in v.viewports))


def test_measurement_and_key_image_go_in_as_on_screen(qtbot, window, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from app.viewer.calibration import calibration_of
    from app.viewer.measurements import Measurement, evaluate
    from PIL import Image

    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    (study,) = window.cache.list_studies()
    uid = study.study_instance_uid
    window.open_study(uid, [])
    qtbot.waitUntil(lambda: _ready(window), timeout=60_000)
    view = window.viewer_area.viewer.active
    sop, frame = view.model.sop_uid(), view.model.ref.frame
    instance = window.cache.get_instance(sop)
    ruler = Measurement("length", [(100.0, 100.0), (187.3, 131.9)], instance.series_instance_uid, sop, frame)
    window.viewer_area.viewer.annotations(uid).add(ruler)
    from app.dicom.codecs import read_dataset

    ds = read_dataset(instance.path, stop_before_pixels=True)
    on_screen = evaluate(ruler, calibration_of(ds, frame)).label  # e.g. "92.1 mm"
    window.report_area.measurements_requested.emit()
    findings = window.report_area.sections.edits["findings"].toPlainText()
    line = f"Length: {on_screen} (series {ds.SeriesNumber}, image {ds.InstanceNumber})"
    assert line in findings, findings
    assert on_screen.endswith(" mm") and len(on_screen.split()[0].split(".")[1]) == 1  # one decimal

    window.viewer_area.viewer.apply_preset_key("4")  # lung window on screen, not the header's
    window.viewer_area.viewer.toggle_key_image()
    window.report_area.key_image_requested.emit()
    (key,) = window.report_store.get(window.report_area.report.id).key_images
    saved = np.asarray(Image.open(key.png_path).convert("RGB"))
    shown = view.grab_rgb()
    Image.fromarray(shown).save(str(artifacts / "reading_room_key_image_viewport.png"))
    assert saved.shape == shown.shape and np.array_equal(saved, shown)


def test_comparison_is_filled_from_the_prior_on_screen(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    ct = shared_data / "ct"
    handle = window.import_paths([ct / "philips_phantom_study1_1mm", ct / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=90_000)
    studies = sorted(window.cache.list_studies(), key=lambda s: (s.study_date, s.study_time))
    assert len(studies) == 2
    prior, current = studies
    window.open_study(current.study_instance_uid, [prior.study_instance_uid])
    qtbot.waitUntil(lambda: _ready(window), timeout=90_000)
    text = window.report_area.sections.edits["comparison"].toPlainText()
    d = prior.study_date
    assert f"{d[:4]}-{d[4:6]}-{d[6:8]}" in text and "CT" in text, text
    assert "None available" not in text
