"""An image the viewer cannot decode is a placeholder with its reason; the other viewports and images go on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.core.test_harden_viewer import _series_with_one_bad_slice
from tests.fuzz.corpus import palette_without_lut
from tests.gui.conftest import show_widget


@pytest.fixture()
def cache(tmp_path: Path, shared_data: Path):  # type: ignore[no-untyped-def]
    from app.store import Cache

    c = Cache.open(tmp_path / "cache")
    for data in [*_series_with_one_bad_slice(shared_data), palette_without_lut(shared_data, "2.25.51600")]:
        assert c.store_bytes(data).status == "imported"
    yield c
    c.close()


@pytest.fixture
def viewer(qtbot):  # type: ignore[no-untyped-def]
    from app.viewer.viewer_widget import ViewerWidget

    widget = ViewerWidget()
    show_widget(qtbot, widget, 900, 500)
    yield widget
    widget.shutdown()


def test_placeholder_then_next_image(viewer, cache) -> None:  # type: ignore[no-untyped-def]
    viewer.set_layout("1x2")
    viewer.open_series(cache, "2.25.51501.9", viewport=0)  # opens on the broken middle slice
    viewer.open_series(cache, "2.25.51600.1", viewport=1)  # PALETTE COLOR without its tables
    bad, palette = viewer.viewports
    assert "Cannot display this image" in bad.scene._error.GetInput()
    assert "invalid number of segments" in bad.scene._error.GetInput().replace("\n", " ")
    assert "palette lookup table" in palette.scene._error.GetInput().replace("\n", " ")
    bad.scroll.setValue(0)  # the neighbouring slice decodes: the message goes away
    assert bad.scene._error.GetInput() == "" and bad.grab_rgb().max() > 0
    assert np.asarray(viewer.screenshot()).shape[2] == 3  # the whole viewer still renders
