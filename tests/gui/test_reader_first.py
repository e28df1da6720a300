"""Reader first in the window: a study only on the PACS opens on its opening slice while the rest is held back,
the slices still coming are placeholders ("slice N — arriving"), the worklist row says "N of M", scrolling and
W/L work meanwhile, and the series fills in when the retrieve goes on."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from types import SimpleNamespace

from pydicom import dcmread
from pydicom.uid import generate_uid

from app.network.fetch_order import Slot, reader_order
from tests.core.net_peers import study_in
from tests.gui.conftest import main_window


def _slots(files: list[Path]) -> dict[str, tuple[Slot, bytes]]:
    """The tilted CT (54 slices) and a 3-slice series made from it (a second series that arrives later)."""
    out, other = {}, generate_uid()
    for path in files:
        ds = dcmread(path, stop_before_pixels=True)
        out[ds.SOPInstanceUID] = (Slot(ds.SeriesInstanceUID, ds.SOPInstanceUID, int(ds.InstanceNumber), 1),
                                  path.read_bytes())
    for path in files[:3]:
        ds = dcmread(path)
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.SeriesDescription = other, 2, "scout"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        buf = io.BytesIO()
        ds.save_as(buf)
        out[ds.SOPInstanceUID] = (Slot(other, ds.SOPInstanceUID, int(ds.InstanceNumber), 2), buf.getvalue())
    return out


def test_opens_on_the_first_slice_and_fills_in(qtbot, tmp_path: Path, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    study = study_in(shared_data / "ct" / "philips_phantom_study2_tilted")
    slots = _slots(study.files)
    order = reader_order(s for s, _ in slots.values())
    release, total = threading.Event(), len(order)
    assert total == 57 and order[-1].series_number == 2  # the CT first, middle out; the other series after

    with main_window(qtbot, tmp_path / "home") as win:
        cache = win.cache

        def held_retrieve(study_uid, progress=None, cancel=None, *, arrivals):  # type: ignore[no-untyped-def]
            arrivals.plan([(s.series_uid, s.sop_uid) for s in order], (), {s.sop_uid: s.instance_number
                                                                           for s in order})
            for i, slot in enumerate(order):
                if i == 1:
                    assert release.wait(60)  # held back: the reader is looking at the first slice
                assert cache.store_bytes(slots[slot.sop_uid][1]).status == "imported"
                if i == 0:
                    cache.mark_study_incomplete(study_uid, total, "retrieve from test not finished")
                arrivals.arrived(slot.sop_uid, 1000)
            cache.clear_study_incomplete(study_uid)
            return SimpleNamespace(incomplete=False, received=set(slots))

        from app.ui.network_ui import retrieve_and_open

        task = retrieve_and_open(win, study.uid, [], retrieve=held_retrieve)
        try:
            _held_back(qtbot, win, study, order, total, artifacts)
        finally:
            release.set()  # the retrieve thread must not outlive the window
        qtbot.waitUntil(lambda: task.done, timeout=60_000)
        _filled_in(qtbot, win, study, order, total)


def _held_back(qtbot, win, study, order, total, artifacts) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: win.viewer_area.viewer is not None and win.viewer_area.viewer.viewports
                    and win.viewer_area.viewer.viewports[0].model.series is not None
                    and win.viewer_area.viewer.viewports[0].model.series.frame_count == 54, timeout=20_000)
    view = win.viewer_area.viewer.viewports[0]
    model = view.model
    assert model.sop_uid() == order[0].sop_uid  # the opening slice, shown
    assert model.frame_error() is None and view.scene._error.GetInput() == ""
    assert "Arriving: 1 of 54" in model.corner_text(model.current_window()).bottom_right
    assert len(win.viewer_area.viewer.series_list.summaries) == 1  # the other series is not in yet
    qtbot.waitUntil(lambda: "1 of 57 instances" in win.network_status.retrieve_label.text(), timeout=5000)
    # the worklist row, from the index: incomplete, 1 of 57
    qtbot.waitUntil(lambda: any(win.model.data(win.model.index(r, c)) == "1 of 57"
                                for r in range(win.model.rowCount()) for c in range(win.model.columnCount())),
                    timeout=10_000)
    # W/L and scrolling meanwhile: a missing slice is a placeholder, not an error
    model.state.window = (40.0, 400.0)
    view.scroll.setValue(0)
    qtbot.wait(50)
    assert view.scene._error.GetInput() == "slice 1 \u2014 arriving"
    win.screen().grabWindow(win.winId()).save(str(artifacts / "reader_first_arriving.png"))  # VTK: from X
    view.scroll.setValue(model.series.sop_uids.index(order[0].sop_uid))


def _filled_in(qtbot, win, study, order, total) -> None:  # type: ignore[no-untyped-def]
    view = win.viewer_area.viewer.viewports[0]
    model = view.model
    qtbot.waitUntil(lambda: "arriving" not in model.series.extra and model.arrival_note == "", timeout=10_000)
    qtbot.waitUntil(lambda: len(win.viewer_area.viewer.series_list.summaries) == 2, timeout=10_000)  # listed
    assert model.series.frame_count == 54 and model.sop_uid() == order[0].sop_uid
    assert model.state.window == (40.0, 400.0)  # kept across the swaps
    view.scroll.setValue(0)
    qtbot.wait(50)
    assert model.frame_error() is None and view.scene._error.GetInput() == ""
    assert win.cache.get_study(study.uid).flags == ()
    qtbot.waitUntil(lambda: not win.arrival_follower.timer.isActive(), timeout=10_000)


def test_a_retrieve_that_fails_leaves_placeholders_and_the_count(qtbot, tmp_path: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    study = study_in(shared_data / "ct" / "philips_phantom_study2_tilted")
    slots = _slots(study.files)
    order = reader_order(s for s, _ in slots.values())

    with main_window(qtbot, tmp_path / "home") as win:
        def broken_retrieve(study_uid, progress=None, cancel=None, *, arrivals):  # type: ignore[no-untyped-def]
            arrivals.plan([(s.series_uid, s.sop_uid) for s in order])
            for slot in order[:5]:
                assert win.cache.store_bytes(slots[slot.sop_uid][1]).status == "imported"
                win.cache.mark_study_incomplete(study_uid, len(order), "retrieve from test interrupted")
                arrivals.arrived(slot.sop_uid)
            raise ConnectionResetError("the link went down for good")

        from app.ui.network_ui import retrieve_and_open

        task = retrieve_and_open(win, study.uid, [], retrieve=broken_retrieve)
        qtbot.waitUntil(lambda: task.done, timeout=30_000)
        qtbot.waitUntil(lambda: win.viewer_area.viewer is not None and win.viewer_area.viewer.viewports
                        and win.viewer_area.viewer.viewports[0].model.arrival_note == "Incomplete: 5 of 54",
                        timeout=20_000)
        model = win.viewer_area.viewer.viewports[0].model
        assert sum(1 for label in model.series.extra["arriving"].values() if label.endswith("not retrieved")) == 49
        qtbot.waitUntil(lambda: win.network_status.retrieve_label.text() == "INCOMPLETE: 5 of 57 instances",
                        timeout=10_000)
        assert win.cache.get_study(study.uid).flags == ("incomplete",)
        qtbot.waitUntil(lambda: any(win.model.data(win.model.index(r, c)) == "5 of 57"
                                    for r in range(win.model.rowCount()) for c in range(win.model.columnCount())),
                        timeout=10_000)
        qtbot.waitUntil(lambda: not win.arrival_follower.timer.isActive(), timeout=10_000)
