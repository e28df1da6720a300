"""The reading room's protocols and tools in the real window: a CT head with its prior hangs as its protocol says
(screenshot from the X server), "save this layout" writes a rule that hangs the next opening, the thick slab keys,
Escape leaves reading mode, measurements are deleted from their list and undone."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt


def _ready(window, count: int) -> bool:  # type: ignore[no-untyped-def]
    v = window.viewer_area.viewer
    return (v is not None and not window.bridge.running() and len(v.viewports) == count
            and all(p.model.has_image for p in v.viewports))


def _open_head_with_prior(qtbot, window, shared_data: Path) -> tuple:  # type: ignore[no-untyped-def]
    ct = shared_data / "ct"
    handle = window.import_paths([ct / "philips_phantom_study1_1mm", ct / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=90_000)
    prior, current = sorted(window.cache.list_studies(), key=lambda s: (s.study_date, s.study_time))
    window.open_study(current.study_instance_uid, [])
    qtbot.waitUntil(lambda: _ready(window, 4), timeout=60_000)
    return current.study_instance_uid, prior.study_instance_uid


def test_ct_head_with_prior_hangs_as_its_protocol_says(qtbot, window, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    current, prior = _open_head_with_prior(qtbot, window, shared_data)
    viewer = window.viewer_area.viewer
    assert viewer.plan.protocol.name == "CT head with prior" and viewer.layout_name == "2x2"
    shown = [(v.model.series.study_uid, v.model.state.preset_name, tuple(v.model.state.window))
             for v in viewer.viewports]
    assert shown == [(current, "Brain", (40.0, 80.0)), (current, "Stroke", (40.0, 40.0)),
                     (prior, "Brain", (40.0, 80.0)), (prior, "Stroke", (40.0, 40.0))]
    assert viewer.sync_action.isChecked() and viewer.reflines_action.isChecked()
    assert viewer.viewports[0].model.frames is viewer.viewports[1].model.frames  # one series: decoded once
    qtbot.wait(100)
    shot = window.screen().grabWindow(window.winId()).toImage()  # VTK content: from the X server
    shot.save(str(artifacts / "reading_room_hanging_ct_head_prior.png"))
    top, bottom = viewer.viewports[0].grab_rgb(), viewer.viewports[2].grab_rgb()
    assert top.std() > 5 and bottom.std() > 5  # images, not empty viewports
    # W/L linked within a window group only: brain with brain, stroke untouched
    first = viewer.viewports[0]
    first.model.state.set_window((45.0, 90.0), "")
    first.apply({"window"})
    assert tuple(viewer.viewports[2].model.state.window) == (45.0, 90.0)
    assert tuple(viewer.viewports[1].model.state.window) == (40.0, 40.0)


def test_saved_layout_becomes_the_protocol_of_that_kind_of_study(qtbot, window, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    current, prior = _open_head_with_prior(qtbot, window, shared_data)
    viewer = window.viewer_area.viewer
    viewer.set_layout("1x2")
    viewer.active = viewer.viewports[1]
    viewer.apply_preset_key("8")  # bone
    viewer.save_hanging_protocol("Head bone")
    saved = json.loads((window.paths.config_dir / "hanging_protocols.json").read_text())
    (rule,) = saved["protocols"]
    assert rule["name"] == "Head bone" and rule["layout"] == "1x2" and rule["match"]["modality"] == "CT"
    assert [vp.get("window", "") for vp in rule["viewports"]] == ["Brain", "Bone"]
    window.open_study(current, [])
    qtbot.waitUntil(lambda: _ready(window, 2) and viewer.plan.protocol.name == "Head bone", timeout=60_000)
    assert viewer.viewports[1].model.state.preset_name == "Bone"


def test_slab_keys_escape_and_the_measurement_list(qtbot, window, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from app.viewer.measurements import Measurement

    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study1_1mm"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    (study,) = window.cache.list_studies()
    window.set_reading_mode(True)
    window.open_study(study.study_instance_uid, [])
    qtbot.waitUntil(lambda: _ready(window, 2), timeout=60_000)
    viewer = window.viewer_area.viewer
    view = viewer.active
    window.activateWindow()
    view.vtk.setFocus()
    qtbot.waitUntil(view.vtk.hasFocus, timeout=5000)
    qtbot.keyClick(view.vtk, Qt.Key.Key_T)
    qtbot.keyClick(view.vtk, Qt.Key.Key_Period)
    assert (view.model.slab.mode, view.model.slab.thickness) == ("mip", 15.0)
    assert "MIP 15 mm" in view.model.corner_text(view.model.current_window()).bottom_right
    from app.viewer.offscreen_view import save_png

    save_png(view.grab_rgb(), artifacts / "reading_room_slab_mip.png")

    ann = viewer.annotations(study.study_instance_uid)
    ann.add(Measurement("length", [(100.0, 100.0), (200.0, 100.0)], view.model.series.series_uid,
                        view.model.sop_uid(), view.model.ref.frame))
    qtbot.keyClick(view.vtk, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    dialog = viewer.measurement_list
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 1).text().endswith(" mm")
    dialog.table.item(0, 3).setText("left ventricle")  # relabel from the list
    assert ann.measurements[0].text == "left ventricle"
    dialog.delete(0)
    assert ann.measurements == [] and dialog.table.rowCount() == 0
    assert viewer.undo_measurement() and len(ann.measurements) == 1 and dialog.table.rowCount() == 1
    dialog.close()

    assert window.reading_mode
    view.vtk.setFocus()
    qtbot.keyClick(view.vtk, Qt.Key.Key_Escape)
    assert not window.reading_mode


def test_mammograms_hang_back_to_back_with_the_priors_on_page_two(qtbot, window, shared_data: Path,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path, artifacts: Path) -> None:
    from pydicom.uid import generate_uid

    from tests.core.test_hanging_protocols import _mammo

    src = shared_data / "ct" / "single" / "CT_small.dcm"
    prior = _mammo(src, tmp_path, generate_uid(), "20250110", one_series=False)
    now = generate_uid()
    current = _mammo(src, tmp_path, now, "20260112", one_series=True)
    handle = window.import_paths(sorted(tmp_path.glob("*.dcm")))
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    window.open_study(now, [])
    qtbot.waitUntil(lambda: _ready(window, 4), timeout=60_000)
    viewer = window.viewer_area.viewer
    order = ["RCC", "LCC", "RMLO", "LMLO"]
    assert [v.model.sop_uid() for v in viewer.viewports] == [current[k] for k in order]
    assert [v.model.state.hflip for v in viewer.viewports] == [False, True, False, False]  # LCC stored facing left
    viewer.show_page(1)
    qtbot.waitUntil(lambda: _ready(window, 4) and viewer.viewports[0].model.sop_uid() == prior["RCC"], timeout=60_000)
    assert [v.model.sop_uid() for v in viewer.viewports] == [prior[k] for k in order]
    qtbot.wait(100)
    window.screen().grabWindow(window.winId()).toImage().save(str(artifacts / "reading_room_hanging_mammo_page2.png"))
    viewer.show_page(1)  # wraps round to the current study
    qtbot.waitUntil(lambda: _ready(window, 4) and viewer.viewports[0].model.sop_uid() == current["RCC"], timeout=60_000)
