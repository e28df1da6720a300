"""Run one fuzz case through the paths of ``telerad import`` and ``telerad show`` (and the viewer model).

Contract: storing returns a result (imported, or rejected with a reason); rendering the stored
file (or, when rejected, the file itself) to PNG either succeeds or raises ``DecodeError``;
the viewer's series loading and frame display never raise except ``DecodeError`` for a series
with no displayable image. Anything else is a crash, returned with its traceback.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Outcome:
    stored: str  # imported / rejected / ...
    shown: str  # rendered / decode error / crash
    crash: str = ""  # traceback of an unexpected exception


def _show(path: Path, out: Path) -> str:
    from app.dicom.codecs import DecodeError
    from app.dicom.render import render_png

    try:
        render_png(path, out)
        return "rendered"
    except DecodeError as exc:
        assert exc.reason and "\n" not in exc.reason, "DecodeError without a one-line reason"
        return "decode error"


def _view(cache: Any, series_uid: str) -> None:
    """What the viewer does to show a series: open it, draw the first frame, its texts and overlays."""
    import numpy as np

    from app.dicom.codecs import DecodeError
    from app.viewer.loading import load_rest, open_series
    from app.viewer.viewport_model import ViewportModel

    try:
        opened = open_series(cache, series_uid)
    except DecodeError:
        return  # no displayable image: the viewer says so in the status bar
    model = ViewportModel()
    model.set_series(opened.info, opened.frames, opened.first)
    out = np.zeros(model.display_shape(), np.uint8)
    model.render_into(out)
    model.corner_text(model.current_window())
    model.orientation()
    model.overlay_layer()
    load_rest(opened)


def run_case(cache: Any, data: bytes, folder: Path, uid: str) -> Outcome:
    """Store ``data``, render what was stored (or the file itself), show it as the viewer does."""
    raw = folder / "case.dcm"
    raw.write_bytes(data)
    stored = "?"
    try:
        result = cache.store_bytes(data, source="fuzz")
        stored = result.status
        assert stored != "rejected" or result.reason, "rejected without a reason"
        record = cache.get_instance(uid) if stored == "imported" else None
        shown = _show(record.path if record is not None else raw, folder / "out.png")
        if record is not None:
            _view(cache, record.series_instance_uid)
        return Outcome(stored, shown)
    except Exception:  # noqa: BLE001 - the point: any other exception is a finding
        return Outcome(stored, "crash", traceback.format_exc())
