"""MPR benchmark: `.venv/bin/python bench/mpr.py` (starts its own Xvfb when DISPLAY is unset).

Builds a 512x512x300 int16 volume from the shared 1 mm CT (140 slices resampled along z),
then measures in one run, in a 1200x900 layout on this machine's renderer:
  * three oblique planes updating while the user drags (all three planes move every frame),
  * a 20 mm MIP slab while scrolling (one plane moves) and with all three planes oblique,
  * the same with stock VTK (vtkImageReslice 512x512 linear + vtkImageActor in three
    QVTKRenderWindowInteractor views, defaults),
  * resident memory added by the volume and the layout, as a multiple of the voxel bytes.
Prints fps, ratios against stock and PASS/FAIL per target.
"""

from __future__ import annotations

import gc
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TELERAD_PLAINTEXT", "1")  # the unencrypted figures (bench/atrest.py compares both)

from tests.xvfb import ensure_display  # noqa: E402
CT = REPO.parent / "shared" / "data" / "ct" / "philips_phantom_study1_1mm"
SIZE = (1200, 900)
FRAMES = 40


def rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def build_volume():
    """512x512x300 int16 CT and its geometry (z resampled linearly from the 140 1 mm slices)."""
    from dataclasses import replace

    from app.dicom.series import read_slice_refs
    from app.dicom.volume import load_volume

    refs = [r for p in sorted(CT.iterdir()) if p.name != "DIRFILE" for r in read_slice_refs(p)]
    src = load_volume(refs, workers=0)
    n_src, n_out = src.array.shape[0], 300
    out = np.empty((n_out, 512, 512), np.int16)
    z = np.linspace(0, n_src - 1, n_out)
    a, b = np.empty((512, 512), np.float32), np.empty((512, 512), np.float32)  # reused: no heap growth
    for k, zk in enumerate(z):
        k0 = min(int(zk), n_src - 2)
        f = np.float32(zk - k0)
        np.multiply(src.array[k0], 1 - f, out=a)
        np.multiply(src.array[k0 + 1], f, out=b)
        np.add(a, b, out=a)
        np.rint(a, out=a)
        out[k] = a
    g = src.geometry
    step = g.spacing[2] * (n_src - 1) / (n_out - 1)
    geometry = replace(g, shape=out.shape, spacing=(g.spacing[0], g.spacing[1], step),
                       slice_positions=tuple(float(v) for v in z * g.spacing[2]))
    del src
    gc.collect()
    return out, geometry


def drag_all_three(state, frame: int) -> None:
    """One mouse-move of a double-oblique drag: every plane turns, the centre moves."""
    state.rotate("axial", math.radians(0.7))
    state.rotate("coronal", math.radians(0.5))
    state.scroll("sagittal", 0.4 * math.sin(frame / 5.0))


def ours(app, array, geometry, vr: bool = True) -> dict:
    from app.viewer.mpr.mpr_widget import MprWidget

    w = MprWidget(volume_rendering=vr)
    w.resize(*SIZE)
    w.show()
    w.set_volume(array, geometry, (40.0, 400.0), "CT")
    for _ in range(10):
        app.processEvents()
    w.repaint_now()
    state = w.scene.state
    state.rotate("axial", math.radians(20))
    state.rotate("coronal", math.radians(15))
    res = {"mem_after": rss()}

    def run(step, preview=True) -> float:
        w.interacting = preview
        w.repaint_now()
        t0 = time.perf_counter()
        for i in range(FRAMES):
            step(i)
            w.repaint_now()
            app.processEvents()
        return FRAMES / (time.perf_counter() - t0)

    res["drag3_preview"] = run(lambda i: drag_all_three(state, i))
    res["drag3_refined"] = run(lambda i: drag_all_three(state, i), preview=False)
    w.set_slab("mip", 20.0)
    res["mip_scroll_preview"] = run(lambda i: state.scroll("axial", 0.5 if i % 20 < 10 else -0.5))
    res["mip_scroll_refined"] = run(lambda i: state.scroll("axial", 0.5 if i % 20 < 10 else -0.5), preview=False)
    res["mip_drag3_preview"] = run(lambda i: drag_all_three(state, i))
    res["mip_samples"] = state.slab_samples("axial")
    res["mem_after"] = max(res["mem_after"], rss())
    w.close_vtk()
    w.close()
    app.processEvents()
    return res


def stock(app, array, geometry) -> dict:
    """Stock VTK: vtkImageReslice (512x512, linear, defaults) -> W/L -> vtkImageActor per view."""
    import vtkmodules.vtkInteractionStyle  # noqa: F401
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    from PySide6.QtWidgets import QGridLayout, QWidget
    from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
    from vtkmodules.vtkCommonMath import vtkMatrix4x4
    from vtkmodules.vtkImagingColor import vtkImageMapToWindowLevelColors
    from vtkmodules.vtkImagingCore import vtkImageReslice
    from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer

    from app.viewer.mpr.geometry import grid_affine
    from app.viewer.mpr.reslice import reslice_matrix, wrap_volume
    from app.viewer.mpr.state import MprState

    image = wrap_volume(array)
    affine = grid_affine(geometry)
    state = MprState(geometry, window=(40.0, 400.0))
    state.rotate("axial", math.radians(20))
    state.rotate("coronal", math.radians(15))
    top = QWidget()
    top.resize(*SIZE)
    grid = QGridLayout(top)
    views = []
    for n, view in enumerate(("axial", "coronal", "sagittal")):
        widget = QVTKRenderWindowInteractor(top)
        grid.addWidget(widget, n // 2, n % 2)
        reslice = vtkImageReslice()
        reslice.SetInputData(image)
        reslice.SetOutputDimensionality(2)
        reslice.SetInterpolationModeToLinear()
        reslice.SetOutputExtent(0, 511, 0, 511, 0, 0)
        wl = vtkImageMapToWindowLevelColors()
        wl.SetInputConnection(reslice.GetOutputPort())
        wl.SetWindow(400)
        wl.SetLevel(40)
        actor = vtkImageActor()
        actor.GetMapper().SetInputConnection(wl.GetOutputPort())
        ren = vtkRenderer()
        ren.AddActor(actor)
        widget.GetRenderWindow().AddRenderer(ren)
        widget.Initialize()
        views.append((view, widget, reslice, ren))
    grid.addWidget(QWidget(top), 1, 1)
    top.show()
    for _ in range(10):
        app.processEvents()
    matrix = vtkMatrix4x4()

    def update(view, widget, reslice, ren, first=False) -> None:
        g = state.grid(view, 512, 512)
        count, spacing = state.slab_samples(view)
        m = reslice_matrix(affine, g, spacing)
        mat = vtkMatrix4x4()
        for r in range(4):
            for c in range(4):
                mat.SetElement(r, c, float(m[r, c]))
        reslice.SetResliceAxes(mat)
        if count > 1:
            reslice.SetSlabModeToMax()
        reslice.SetSlabNumberOfSlices(count)
        if first:
            ren.ResetCamera()
        widget.GetRenderWindow().Render()

    for v in views:
        update(*v, first=True)

    def run(step, which) -> float:
        t0 = time.perf_counter()
        for i in range(FRAMES):
            step(i)
            for v in views:
                if v[0] in which:
                    update(*v)
            app.processEvents()
        return FRAMES / (time.perf_counter() - t0)

    res = {"drag3": run(lambda i: drag_all_three(state, i), ("axial", "coronal", "sagittal"))}
    state.set_slab("mip", 20.0)
    res["mip_scroll"] = run(lambda i: state.scroll("axial", 0.5 if i % 20 < 10 else -0.5), ("axial",))
    del matrix
    for _view, widget, reslice, _ren in views:
        widget.GetRenderWindow().Finalize()
        widget.close()
    top.close()
    app.processEvents()
    return res


def main() -> int:
    ensure_display()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.viewer.mpr.mpr_widget import MprWidget  # noqa: F401 - imports before the baseline

    # warm-up: GL context, shaders, Qt fonts (library memory is not volume memory)
    warm = np.zeros((16, 64, 64), np.int16)
    warm[4:12, 16:48, 16:48] = 500
    from app.dicom.geometry import VolumeGeometry

    small = VolumeGeometry((0, 0, 0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)), (1, 1, 1), warm.shape)
    ours(app, warm, small, vr=False)
    ours(app, warm, small, vr=True)
    from app.dicom.series import read_slice_refs, slice_values

    slice_values(read_slice_refs(next(p for p in sorted(CT.iterdir()) if p.name != "DIRFILE"))[0])  # lazy imports
    gc.collect()
    base = rss()
    array, geometry = build_volume()
    voxel_bytes = array.nbytes
    print(f"volume {array.shape[::-1]} int16, {voxel_bytes / 1e6:.0f} MB, spacing {geometry.spacing}")
    plain = ours(app, array, geometry, vr=False)
    mem_plain = (plain["mem_after"] - base) / voxel_bytes
    r = ours(app, array, geometry, vr=True)
    mem_vr = (r["mem_after"] - base) / voxel_bytes
    s = stock(app, array, geometry)
    rows = [
        ("3 oblique planes while dragging (preview)", r["drag3_preview"], s["drag3"], 30.0),
        ("  same, layout without the 3D pane", plain["drag3_preview"], s["drag3"], None),
        ("3 oblique planes, refined (linear, display res)", r["drag3_refined"], s["drag3"], None),
        (f"MIP 20 mm slab scrolling (preview, {r['mip_samples'][0]} samples)", r["mip_scroll_preview"],
         s["mip_scroll"], 15.0),
        ("MIP 20 mm slab scrolling, refined", r["mip_scroll_refined"], s["mip_scroll"], None),
        ("MIP 20 mm, 3 oblique planes dragging (preview)", r["mip_drag3_preview"], None, None),
    ]
    ok = True
    print(f"{'case':52} {'ours fps':>9} {'stock fps':>10} {'ratio':>7}  target")
    for name, fps, ref, target in rows:
        ratio = f"{fps / ref:6.1f}x" if ref else "      -"
        verdict = ""
        if target is not None:
            passed = fps >= target
            ok &= passed
            verdict = f">= {target:g} fps {'PASS' if passed else 'FAIL'}"
        print(f"{name:52} {fps:9.1f} {ref if ref else float('nan'):10.1f} {ratio}  {verdict}")
    passed = mem_plain <= 1.3
    ok &= passed
    print(f"{'memory: volume + MPR views / voxel bytes':52} {mem_plain:8.2f}x {'':10} {'':7}  <= 1.3x "
          f"{'PASS' if passed else 'FAIL'}")
    print(f"{'memory: + 3D pane (its GL context, 3D copy) / voxels':52} {mem_vr:8.2f}x   (information)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
