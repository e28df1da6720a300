"""The key image in the report PDF is the viewport's pixels: extracted from the PDF with poppler's pdfimages and
compared to the frame the viewport rendered (lung window on screen, not the header's)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np


def _ready(window) -> bool:  # type: ignore[no-untyped-def]
    v = window.viewer_area.viewer
    return (v is not None and not window.bridge.running() and window.report_area.report is not None
            and all(p.model.has_image for p in v.viewports))


def test_key_image_in_the_pdf_equals_the_viewport(qtbot, window, shared_data: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  artifacts: Path) -> None:
    from PIL import Image

    from app.reporting.letterhead import load_letterhead
    from app.reporting.pdf_render import render_pdf

    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study2_tilted"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    (study,) = window.cache.list_studies()
    window.open_study(study.study_instance_uid, [])
    qtbot.waitUntil(lambda: _ready(window), timeout=60_000)
    viewer = window.viewer_area.viewer
    view = viewer.active
    viewer.apply_preset_key("4")  # lung window: what is on screen, not the header's brain window
    viewer.toggle_key_image()
    window.report_area.key_image_requested.emit()
    shown = view.grab_rgb()

    report = window.report_store.get(window.report_area.report.id)
    assert len(report.key_images) == 1
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(report, load_letterhead(window.paths.config_dir)))
    subprocess.run(["pdfimages", "-png", str(pdf), str(tmp_path / "img")], check=True, capture_output=True,
                   timeout=60)
    extracted = sorted(tmp_path.glob("img-*.png"))
    assert extracted, "no image in the PDF"
    images = [np.asarray(Image.open(p).convert("RGB")) for p in extracted]
    (embedded,) = [im for im in images if im.shape == shown.shape]  # the key image (the letterhead has no logo)
    Image.fromarray(embedded).save(str(artifacts / "reading_room_pdf_key_image.png"))
    assert np.array_equal(embedded, shown)
