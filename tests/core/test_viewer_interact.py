"""Gestures on a ViewportModel (no Qt): W/L drag, scroll, zoom at cursor, drawing and editing measurements."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.viewer.interaction import FRAME, MEASURE, VIEW, WINDOW, Interaction, Pointer
from app.viewer.measurements import StudyAnnotations
from app.viewer.series_data import series_from_files
from app.viewer.viewport_model import ViewportModel


@pytest.fixture
def model(shared_data: Path) -> ViewportModel:
    files = sorted((shared_data / "ct/philips_phantom_study1_1mm").glob("*"))[50:60]
    info = series_from_files(files)
    m = ViewportModel(StudyAnnotations(info.study_uid))
    m.set_series(info)
    m.resize(600, 500)
    return m


def test_window_drag_scroll_and_zoom(model: ViewportModel) -> None:
    gesture = Interaction(model)
    assert model.current_window() == (40.0, 80.0)
    gesture.press(Pointer(100, 100))
    assert gesture.move(Pointer(150, 80)) == {WINDOW}
    gesture.release(Pointer(150, 80))
    centre, width = model.state.window
    assert width > 80 and centre < 40
    frame = model.state.frame
    assert gesture.wheel(-1, Pointer(10, 10)) == {FRAME} and model.state.frame == frame + 1
    assert gesture.key("PageDown") == {FRAME} and model.state.frame == model.series.frame_count - 1
    anchor = (420.0, 130.0)
    before = model.transform().screen_to_image(*anchor)
    assert gesture.wheel(2, Pointer(*anchor, ctrl=True)) == {VIEW}
    assert model.transform().screen_to_image(*anchor) == pytest.approx(before)
    assert gesture.key("R") == {VIEW} and model.state.rotation == 1
    assert model.orientation()["top"] == "R"


def test_draw_length_angle_and_edit(model: ViewportModel) -> None:
    gesture = Interaction(model, "length")
    t = model.transform()
    a, b = t.image_to_screen(100, 100), t.image_to_screen(300, 100)
    gesture.press(Pointer(*a))
    gesture.move(Pointer(*b))
    assert gesture.release(Pointer(*b)) == {MEASURE}
    (m,) = model.measurements()
    cal = model.calibration()
    assert model.result(m).values["length"] == pytest.approx(200 * cal.col_mm, rel=1e-6)
    # drag the end handle 50 pixels further
    c = t.image_to_screen(350, 100)
    gesture.press(Pointer(*b))
    gesture.move(Pointer(*c))
    gesture.release(Pointer(*c))
    assert model.result(m).values["length"] == pytest.approx(250 * cal.col_mm, rel=1e-6)
    gesture.set_tool("angle")
    p0, p1, p2 = t.image_to_screen(200, 300), t.image_to_screen(300, 300), t.image_to_screen(300, 200)
    gesture.press(Pointer(*p0)), gesture.move(Pointer(*p1)), gesture.release(Pointer(*p1))
    assert model.active is not None and not model.active.complete
    gesture.press(Pointer(*p2)), gesture.release(Pointer(*p2))
    angle = [x for x in model.measurements() if x.kind == "angle"][0]
    assert model.result(angle).values["angle"] == pytest.approx(90.0, abs=1e-6)
    assert gesture.key("Delete") == {MEASURE}
    assert [x.kind for x in model.measurements()] == ["length"]


def test_roi_and_probe_report_hu(model: ViewportModel) -> None:
    gesture = Interaction(model, "probe")
    t = model.transform()
    gesture.press(Pointer(*t.image_to_screen(256, 256)))
    gesture.release(Pointer(*t.image_to_screen(256, 256)))
    (probe,) = model.measurements()
    assert model.result(probe).values["value"] == float(model.values()[256, 256])
    gesture.set_tool("ellipse")
    gesture.press(Pointer(*t.image_to_screen(200, 200)))
    gesture.move(Pointer(*t.image_to_screen(260, 240)))
    gesture.release(Pointer(*t.image_to_screen(260, 240)))
    roi = model.measurements()[-1]
    result = model.result(roi)
    assert result.unit == "HU" and "HU" in result.label and result.values["count"] > 1000
