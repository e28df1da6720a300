"""Issue 13 goal 2: the MPR volume is prepared in the background once the 2D images are in (sharing the 2D
viewer's volume, no second copy), and the MPR tab uses it instead of loading on the first click."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_volume_prepared_without_the_mpr_tab_and_used_by_it(qtbot, window, shared_data: Path,
                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    handle = window.import_paths([shared_data / "ct" / "philips_phantom_study1_1mm"])
    qtbot.waitUntil(lambda: handle.done, timeout=60_000)
    (study,) = window.cache.list_studies()
    area = window.viewer_area
    window.open_study(study.study_instance_uid, [])
    qtbot.waitUntil(lambda: area.mpr_prefetch.state == "ready", timeout=60_000)
    assert area.currentIndex() == 0 and area.mpr is None  # nobody clicked the MPR tab
    volume = area.mpr_prefetch.volume
    assert volume is not None and volume.array.shape == (140, 512, 512), area.mpr_prefetch.error
    frames = area.viewer.viewports[0].model.frames
    assert np.shares_memory(volume.array, frames.volume)  # the 2D viewer's volume: no second copy

    import app.viewer.mpr.loader as loader

    def no_second_load(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("the MPR tab loaded the volume again")

    monkeypatch.setattr(loader, "load_mpr_volume", no_second_load)
    area.setCurrentIndex(1)
    qtbot.waitUntil(lambda: area.mpr is not None, timeout=30_000)
    assert area.mpr._keep is volume
    assert area.mpr.scene.array is volume.array
