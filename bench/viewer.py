"""Viewer benchmark (issue 5): scroll, W/L drag, mammogram pan/zoom, first-image latency.

Runs on this machine's renderer (llvmpipe under a private Xvfb when DISPLAY is unset) and
measures, in the same run, the stock VTK slice pipeline (vtkImageSliceMapper over the whole
volume, W/L in vtkImageProperty, VTK's default render window) as the reference.
Prints fps, ratios and PASS/FAIL against the targets:
  scroll 140-slice 512x512 CT with W/L >= 60 fps; pan/zoom the 3062x2394 mammogram >= 30 fps;
  first image of a cached series on screen <= 100 ms after the open request.
Usage: python bench/viewer.py [--size 1024x768] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))
os.environ.setdefault("TELERAD_PLAINTEXT", "1")  # the unencrypted figures (bench/atrest.py compares both)

from tests.xvfb import ensure_display  # noqa: E402


def _dispose(widget: Any) -> None:
    """Destroy a Qt widget now, after its VTK render windows were finalized.

    Order matters: Finalize() while the X window still exists, then delete the C++ widget
    (no closeEvent on deletion). A QVTKRenderWindowInteractor left alive until interpreter
    exit gets a closeEvent once its Python attributes are gone: Finalize -> __getattr__
    recurses (RecursionError).
    """
    from shiboken6 import delete

    delete(widget)


def _fps(step: Callable[[int], None], render: Callable[[], None], n: int) -> float:
    for i in range(5):
        step(i)
        render()
    t = time.perf_counter()
    for i in range(n):
        step(i)
        render()
    return n / (time.perf_counter() - t)


def _stock(app: Any, volume: Any, size: tuple[int, int], msaa_off: bool) -> tuple[float, float]:
    """Stock VTK: slice mapper on the whole volume, property W/L. Returns (scroll, W/L) fps."""
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - the OpenGL factory (else nothing renders)
    from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper, vtkRenderer

    w = QVTKRenderWindowInteractor()
    rw = w.GetRenderWindow()
    if msaa_off:
        rw.SetMultiSamples(0)
    w.resize(*size)
    w.show()
    ren = vtkRenderer()
    rw.AddRenderer(ren)
    w.Initialize()
    app.processEvents()
    img = vtkImageData()
    img.SetDimensions(volume.shape[2], volume.shape[1], volume.shape[0])
    img.GetPointData().SetScalars(numpy_support.numpy_to_vtk(volume.reshape(-1), deep=False,
                                                             array_type=numpy_support.get_vtk_array_type(volume.dtype)))
    mapper = vtkImageSliceMapper()
    mapper.SetInputData(img)
    actor = vtkImageSlice()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColorWindow(80)
    actor.GetProperty().SetColorLevel(40)
    ren.AddViewProp(actor)
    ren.ResetCamera()
    n = volume.shape[0]
    scroll = _fps(lambda i: mapper.SetSliceNumber(i % n), rw.Render, 140)
    wl = _fps(lambda i: actor.GetProperty().SetColorLevel(40 + i % 50), rw.Render, 100)
    w.Finalize()
    _dispose(w)
    return scroll, wl


def _ours(app: Any, cache: Any, ct_uid: str, mg_uid: str, size: tuple[int, int]) -> dict[str, float]:
    from app.viewer.interaction import FRAME, VIEW, WINDOW
    from app.viewer.loading import load_rest, open_series
    from app.viewer.viewport_widget import ViewportWidget

    out: dict[str, float] = {}
    view = ViewportWidget()
    view.resize(size[0] + view.scroll.sizeHint().width(), size[1])
    view.show()
    app.processEvents()
    opened = load_rest(open_series(cache, ct_uid))
    view.set_series(opened.info, opened.frames, 0)
    st = view.model.state
    n = opened.info.frame_count
    out["scroll"] = _fps(lambda i: st.set_frame(i % n), lambda: view.refresh({FRAME}), 140)
    out["wl"] = _fps(lambda i: st.set_window((40 + i % 50, 80 + i % 30)), lambda: view.refresh({WINDOW}), 100)
    mg = open_series(cache, mg_uid)
    view.set_series(mg.info, mg.frames)
    t = view.model.transform()
    st = view.model.state
    st.set_pixel_zoom(1.0, t)

    def pan_zoom(i: int) -> None:
        tr = view.model.transform()
        if i % 2:
            st.pan_by(7.0 if (i // 40) % 2 else -7.0, 3.0 if (i // 40) % 2 else -3.0, tr)
        else:
            st.zoom_by(1.02 if (i // 40) % 2 else 1 / 1.02, tr, (tr.width * 0.4, tr.height * 0.6))

    out["mg_pan_zoom"] = _fps(pan_zoom, lambda: view.refresh({VIEW}), 100)
    view.finalize()
    _dispose(view)
    return out


def _first_image(app: Any, cache: Any, warm_uid: str, series_uids: list[str]) -> list[float]:
    """ms from ViewerWidget.open_series() to the first image rendered, through a TaskBridge."""
    from app.ui.bridge import TaskBridge
    from app.viewer.viewer_widget import ViewerWidget

    bridge = TaskBridge()
    viewer = ViewerWidget()
    viewer.resize(1280, 900)
    viewer.show()
    app.processEvents()
    times: list[float] = []
    shown: list[float] = []
    viewer.seriesShown.connect(lambda _i: shown.append(time.perf_counter()))
    for uid in [warm_uid, *series_uids]:
        shown.clear()
        t0 = time.perf_counter()
        viewer.open_series(cache, uid, bridge)
        while not shown and time.perf_counter() - t0 < 10:
            app.processEvents()
            time.sleep(0.0005)
        times.append((shown[0] - t0) * 1000 if shown else float("inf"))
        end = time.perf_counter() + 1.0  # let the background load finish before the next open
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)
    viewer.shutdown()  # finalizes every viewport's VTK window
    bridge.shutdown()
    _dispose(viewer)
    return times[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024x768", help="viewport size in pixels (default 1024x768)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    ensure_display()
    load_start = os.getloadavg()[0]
    from PySide6.QtWidgets import QApplication

    from app.importer import import_paths
    from app.store import Cache
    from app.viewer.loading import load_rest, open_series

    app = QApplication.instance() or QApplication([])
    home = Path(tempfile.mkdtemp(prefix="telerad-bench-"))
    cache = Cache.open(home / "cache")
    import_paths(cache, [DATA / "ct" / "philips_phantom_study1_1mm", DATA / "ct" / "philips_phantom_study2_tilted",
                         DATA / "mg", DATA / "mr" / "siemens_sag_t1_3yo_192slices"])
    series = {s.modality + str(s.num_instances): s.series_instance_uid
              for st in cache.list_studies() for s in cache.list_series(st.study_instance_uid)}
    ct, ct2, mg, mr = series["CT140"], series["CT54"], series["MG1"], series["MR192"]
    volume = load_rest(open_series(cache, ct)).frames.volume
    assert volume is not None and volume.ndim == 3
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for key, value in zip(("stock_scroll", "stock_wl"), _stock(app, volume, size, msaa_off=False)):
            runs.setdefault(key, []).append(value)
        for key, value in zip(("stock0_scroll", "stock0_wl"), _stock(app, volume, size, msaa_off=True)):
            runs.setdefault(key, []).append(value)
        for key, value in _ours(app, cache, ct, mg, size).items():
            runs.setdefault(key, []).append(value)
    first = _first_image(app, cache, mr, [ct, ct2, ct])
    cache.close()
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"viewport {size[0]}x{size[1]} physical pixels, {args.repeats} runs (median), renderer llvmpipe/Xvfb, "
          f"load average {load_start:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (fps scale with idle CPU)")
    print(f"stock VTK (default window, MSAA on) scroll {med['stock_scroll']:6.1f} fps  W/L {med['stock_wl']:6.1f} fps")
    print(f"stock VTK (MSAA off)               scroll {med['stock0_scroll']:6.1f} fps  W/L {med['stock0_wl']:6.1f} fps")
    print(f"viewer                             scroll {med['scroll']:6.1f} fps  W/L {med['wl']:6.1f} fps "
          f"(x{med['scroll'] / med['stock_scroll']:.1f} / x{med['scroll'] / med['stock0_scroll']:.2f} vs stock)")
    print(f"viewer mammogram 3062x2394 pan/zoom {med['mg_pan_zoom']:6.1f} fps")
    print("first image after open (ms): " + ", ".join(f"{t:.0f}" for t in first))
    checks = [("scroll CT with W/L >= 60 fps", med["scroll"] >= 60 and med["wl"] >= 60),
              ("mammogram pan/zoom >= 30 fps", med["mg_pan_zoom"] >= 30),
              ("first image <= 100 ms", statistics.median(first) <= 100)]
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
