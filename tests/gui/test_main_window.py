"""The main window opens, shows the cached studies on the worklist, imports the demo studies on first run,
closes cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from app.ui.worklist_model import COL
from tests.gui.conftest import assert_real_rendering, qimage_to_array, wait_study_open


def test_lists_imported_studies_and_renders(qtbot, window, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted", shared_data / "mg",
                                  shared_data / "cr_dx"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    qtbot.waitUntil(lambda: window.model.rowCount() == len(window.cache.list_studies()), timeout=10_000)
    assert window.model.rowCount() >= 3
    texts = {window.model.index(r, COL["patient_id"]).data() for r in range(window.model.rowCount())}
    assert "PLASTIC" in texts
    window.search.setText("plastic")
    assert window.model.rowCount() == 1  # the worklist model filters itself (no proxy)
    window.search.clear()
    qtbot.wait(100)
    shot = window.grab()
    shot.save(str(artifacts / "main_window.png"))
    assert_real_rendering(qimage_to_array(shot.toImage()))


def test_first_run_imports_demo_studies(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from app.ui.app import DEMO_MARKER, start_up

    start_up(window, window.paths, demo=True)
    qtbot.waitUntil(lambda: window.model.rowCount() >= 5, timeout=120_000)
    modalities = {window.model.index(r, COL["modality"]).data() for r in range(window.model.rowCount())}
    assert {"CT", "CR", "MG", "US", "MR"} <= modalities
    assert (window.paths.home / DEMO_MARKER).exists()


def test_closing_cancels_running_work(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    handle = window.import_paths([shared_data])
    qtbot.waitUntil(lambda: window.cancel_button.isVisible(), timeout=5000)
    window.close()
    assert handle.cancel_event.is_set()


def test_telerad_run_opens_and_closes(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path), "run", "--no-demo",
                           "--quit-after", "2"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "config" / "window.ini").exists()
    assert (tmp_path / "worklist.sqlite").exists()


def test_opening_a_study_shows_images_and_mpr(qtbot, window, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    (study,) = window.cache.list_studies()
    window.open_study(study.study_instance_uid, [])
    area = window.viewer_area
    wait_study_open(qtbot, window, study.study_instance_uid)
    area.setCurrentIndex(1)
    qtbot.waitUntil(lambda: area.mpr is not None and not window.bridge.running(), timeout=60_000)
    qtbot.wait(300)
    shot = window.screen().grabWindow(window.winId())  # VTK content: grab from the X server, not QWidget.grab
    shot.save(str(artifacts / "main_window_mpr.png"))
    assert_real_rendering(qimage_to_array(shot.toImage()), min_colours=100)
    events = [r.event_id for r in window.audit.records()]
    assert "110103" in events


def test_measurement_to_report_and_signing_finishes_the_study(qtbot, window, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.viewer.measurements import Measurement
    from tests.core.report_fixtures import make_pki

    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    (study,) = window.cache.list_studies()
    uid = study.study_instance_uid
    window.open_study(uid, [])
    qtbot.waitUntil(lambda: window.report_area.report is not None and not window.bridge.running(), timeout=60_000)
    series = window.cache.list_series(uid)[0]
    instance = window.cache.list_instances(series.series_instance_uid)[10]
    ruler = Measurement("length", [(100.0, 100.0), (200.0, 100.0)], series.series_instance_uid, instance.sop_instance_uid, 0)
    window.viewer_area.viewer.annotations(uid).add(ruler)
    window.report_area.measurements_requested.emit()
    (stored,) = window.report_store.get(window.report_area.report.id).measurements
    spacing = instance.geometry.pixel_spacing[1]
    assert stored.unit == "mm" and abs(stored.value - 100 * spacing) < 1e-6
    assert stored.image.sop_instance_uid == instance.sop_instance_uid

    pki = make_pki(tmp_path / "pki")
    window.report_area.sign_with(pki.p12, pki.password)
    qtbot.waitUntil(lambda: window.worklist.entry(uid).status == "final", timeout=60_000)
