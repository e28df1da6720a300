"""AI results in the window: the triage SR raises the shared CT study to STAT with "AI: suspected ICH" on its
worklist row, the AI's SEG is outlined on the referenced slices only (screenshots from the X server), and
Accept in the AI panel goes through the workstation into the report's findings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

from tests.core import ai_fixtures as fx
from tests.gui.conftest import main_window, qimage_to_array, wait_study_open

SEG_RGB = (255, 64, 64)  # app.viewer.seg.DEFAULT_SEG_RGB[0]: the SEG gives no recommended colour


def _red_pixels(image) -> int:  # type: ignore[no-untyped-def]
    px = qimage_to_array(image)[..., :3].astype(int)
    return int((np.abs(px - SEG_RGB).sum(axis=2) < 40).sum())


def test_ai_sr_and_seg_in_the_window(qtbot, tmp_path: Path, shared_data: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from app.config import resolve_paths
    from app.ui.worklist_model import COL
    from app.workstation import Workstation

    sources = fx.ct_slices(shared_data)
    referenced = {str(d.SOPInstanceUID) for d in sources[20:25]}
    folder = tmp_path / "ai"
    sr, seg = fx.save(fx.triage_sr(sources), folder, "sr.dcm"), fx.save(fx.ai_seg(sources, 20, 24), folder, "seg.dcm")
    assert pydicom.dcmread(seg).NumberOfFrames == 5
    home = tmp_path / "home"
    with Workstation(resolve_paths(str(home)), "tester") as ws:
        ws.import_paths([shared_data / fx.CT_STUDY, sr, seg])
    uid = str(sources[0].StudyInstanceUID)

    with main_window(qtbot, home) as window:
        window.refresh()
        qtbot.waitUntil(lambda: window.model.rowCount() == 1 and not window.bridge.running(), timeout=60_000)
        row = window.model.row_of(uid)
        assert window.model.index(row, COL["priority"]).data() == "STAT"
        assert window.model.index(row, COL["status"]).data() == "AI: suspected ICH · unread"
        window.worklist_panel.grab().save(str(artifacts / "ai_worklist_stat.png"))  # no VTK: a widget grab

        window.open_study(uid, [])
        area = window.viewer_area
        wait_study_open(qtbot, window, uid)
        view = next(v for v in area.viewer.viewports if v.model.has_image and v.model.series.study_uid == uid)
        assert view.model.series.frame_count == 54 and view.model.segmentations
        outlined = set()
        for i in range(view.model.series.frame_count):
            view.model.state.set_frame(i)
            if view.model.overlay_layer() is not None:
                outlined.add(view.model.sop_uid())
        assert outlined == referenced  # the SEG's five slices, and no other

        def shot(frame: int, name: str):  # type: ignore[no-untyped-def]
            view.scroll.setValue(frame)
            qtbot.wait(200)
            image = window.screen().grabWindow(window.winId()).toImage()  # VTK content: from the X server
            image.save(str(artifacts / name))
            return image

        on = next(i for i, s in enumerate(view.model.series.sop_uids) if s in referenced)
        off = next(i for i, s in enumerate(view.model.series.sop_uids) if s not in referenced and abs(i - on) > 8)
        with_seg, without = shot(on, "ai_seg_on_referenced_slice.png"), shot(off, "ai_seg_other_slice.png")
        assert _red_pixels(with_seg) > 200 and _red_pixels(without) < 20

        panel = window.ai_panel
        qtbot.waitUntil(lambda: panel.isVisible() and "ich" in panel.buttons, timeout=10_000)
        assert "AI: suspected ICH" in panel.labels["ich"].text()
        panel.buttons["ich"][0].click()  # Accept
        line = "AI finding (suspected ICH): accepted by tester"
        qtbot.waitUntil(lambda: line in window.report_area.sections.edits["findings"].toPlainText(), timeout=20_000)
        assert not panel.buttons["ich"][0].isEnabled() and "accepted by tester" in panel.labels["ich"].text()
        assert window.model.index(window.model.row_of(uid), COL["status"]).data().startswith("AI: suspected ICH")
        qtbot.wait(300)
        window.screen().grabWindow(window.winId()).save(str(artifacts / "ai_panel_accepted.png"))
        assert [v.decision for v in window.ws.ai_findings(uid)] == ["accepted"]
