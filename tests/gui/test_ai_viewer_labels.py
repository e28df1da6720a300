"""The AI finding named over the images: the top-right corner of the study's viewports says "AI: suspected ICH
(not reviewed)", then "(rejected)" / "(accepted)" as the reader decides in the AI panel; a rejected finding's
SEG (fill and outline) is no longer drawn, an accepted one is (screenshots from the X server)."""

from __future__ import annotations

from pathlib import Path

from tests.core import ai_fixtures as fx
from tests.gui.conftest import main_window
from tests.gui.test_ai_panel import _red_pixels


def test_the_ai_finding_and_its_decision_over_the_images(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, shared_data: Path, artifacts: Path) -> None:
    from app.config import resolve_paths
    from app.workstation import Workstation

    sources = fx.ct_slices(shared_data)
    referenced = {str(d.SOPInstanceUID) for d in sources[20:25]}
    folder = tmp_path / "ai"
    sr, seg = fx.save(fx.triage_sr(sources), folder, "sr.dcm"), fx.save(fx.ai_seg(sources, 20, 24), folder, "seg.dcm")
    home = tmp_path / "home"
    with Workstation(resolve_paths(str(home)), "tester") as ws:
        ws.import_paths([shared_data / fx.CT_STUDY, sr, seg])
    uid = str(sources[0].StudyInstanceUID)

    with main_window(qtbot, home) as window:
        window.open_study(uid, [])
        area, panel = window.viewer_area, window.ai_panel
        qtbot.waitUntil(lambda: area.viewer is not None and not window.bridge.running(), timeout=60_000)
        qtbot.waitUntil(lambda: "ich" in panel.buttons, timeout=20_000)
        view = next(v for v in area.viewer.viewports if v.model.has_image and v.model.series.study_uid == uid)
        on = next(i for i, s in enumerate(view.model.series.sop_uids) if s in referenced)
        view.scroll.setValue(on)

        def corner() -> str:
            return str(view.scene.corners["tr"].GetInput())

        def shot(name: str):  # type: ignore[no-untyped-def]
            qtbot.wait(200)
            image = window.screen().grabWindow(window.winId()).toImage()  # VTK content: from the X server
            image.save(str(artifacts / name))
            return image

        qtbot.waitUntil(lambda: "AI: suspected ICH (not reviewed)" in corner(), timeout=10_000)
        assert _red_pixels(shot("ai_label_not_reviewed.png")) > 200

        panel.buttons["ich"][1].click()  # Reject
        qtbot.waitUntil(lambda: "AI: suspected ICH (rejected)" in corner(), timeout=20_000)
        assert "not reviewed" not in corner() and view.model.overlay_layer() is None
        assert _red_pixels(shot("ai_label_rejected.png")) < 20  # neither fill nor outline

        qtbot.waitUntil(lambda: "ich" in panel.buttons and panel.buttons["ich"][0].isEnabled(), timeout=10_000)
        panel.buttons["ich"][0].click()  # Accept after all
        qtbot.waitUntil(lambda: "AI: suspected ICH (accepted)" in corner(), timeout=20_000)
        assert view.model.overlay_layer() is not None
        assert _red_pixels(shot("ai_label_accepted.png")) > 200
        assert [v.decision for v in window.ws.ai_findings(uid)] == ["accepted"]
