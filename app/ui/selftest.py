"""`telerad --selftest [--out PNG]`: end-to-end check of an installed workstation.

Opens the main window, decodes one demo image of each compressed transfer syntax, imports
every VTK module the app uses (a library missing from an installer fails here, by name),
imports the bundled demo CT into a temporary cache (removed at the end), renders a slice
and an MPR, composes them with a thumbnail of the window into one PNG
and prints the timings. Exit 0 on success; 1 with a one-line reason on any failure.
Nothing outside the temporary folder is touched (no user cache, settings or audit log).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import numpy as np
from pydicom import uid

from app import __version__
from app.config import Paths, resources_dir, user_name

if TYPE_CHECKING:
    from app.store import Cache

PANEL = 512  # height of each panel in the composed PNG
DEMO_STUDY = "ct-head-phantom"
#: Transfer syntaxes of the bundled demo studies (CT, CR, MG), checked for a decoder.
CODEC_SYNTAXES = {"JPEG-LS": uid.JPEGLSLossless, "JPEG 2000": uid.JPEG2000Lossless,
                  "JPEG lossless": uid.JPEGLosslessSV1}
#: Every vtkmodules module the app imports (packaging/telerad.spec bundles these; the selftest imports them).
VTK_MODULES = (*(f"vtkmodules.vtk{m}" for m in (
    "CommonCore", "CommonDataModel", "CommonMath", "FiltersSources", "ImagingCore", "RenderingCore",
    "RenderingFreeType", "RenderingImage", "RenderingOpenGL2", "RenderingVolumeOpenGL2")),
    "vtkmodules.util.numpy_support", "vtkmodules.qt.QVTKRenderWindowInteractor")


class SelftestError(RuntimeError):
    """A check failed; the message is the one-line reason."""


def process_age() -> float:
    """Seconds since this process started (Linux /proc; else since this module was imported)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()


class Stages:
    """Times each stage, prints one line per stage, and names the stage that failed."""

    def __init__(self) -> None:
        self.current = "start"
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, str]]:
        self.current, info = name, {"note": ""}
        started = time.perf_counter()
        yield info
        self.timings[name] = time.perf_counter() - started
        print(f"  {name:<8} {self.timings[name]:6.2f} s  {info['note']}", flush=True)


def wait_until(app: Any, done: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the Qt event loop until ``done()``; raise SelftestError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SelftestError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.005)


def check_image(pixels: np.ndarray, what: str) -> np.ndarray:
    """Fail on an empty or uniform (black, white, grey) image; return it as RGB uint8."""
    if pixels.size == 0 or float(pixels.std()) < 2.0:
        raise SelftestError(f"{what} is blank (uniform image)")
    rgb = pixels if pixels.ndim == 3 else np.stack([pixels] * 3, axis=-1)
    return np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)


def open_window(paths: Paths) -> tuple[Any, Any, Any]:
    """QApplication (any display; offscreen when there is none), shown MainWindow, its workstation."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from app.workstation import Workstation
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Telerad Workstation")
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    ws = Workstation(paths, user_name())
    if not ws.accounts.any():  # an encrypted folder, as every real one: SQLCipher and AES-GCM of the bundle at work
        import secrets

        from app.workstation import security

        security.add_user(ws, "selftest", secrets.token_urlsafe(18))
    window = MainWindow(ws)
    window.show()
    wait_until(app, lambda: window.windowHandle() is not None and window.windowHandle().isExposed(), 20, "the window")
    app.processEvents()
    return app, window, ws


def codec_summary() -> str:
    """Decode one demo file per compressed syntax; list the decoders pydicom would try for each."""
    from pydicom import dcmread

    from app.dicom.codecs import decode_frame, plugin_order

    firsts = (min(study.rglob("*.dcm"), default=None) for study in (resources_dir() / "samples").iterdir())
    files = {str(dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID): p for p in firsts if p}
    parts = []
    for name, syntax in CODEC_SYNTAXES.items():
        order = plugin_order(syntax)
        if not order or syntax not in files:
            raise SelftestError(f"no decoder available for {name}" if not order else f"no demo file in {name}")
        check_image(decode_frame(files[syntax]).astype(np.float32), f"the decoded {name} demo image")
        parts.append(f"{name}: {', '.join(order)}")
    return "; ".join(parts) + " (one demo image of each decoded)"


def vtk_summary() -> str:
    """Import every VTK module the app uses: a library missing from the bundle fails here, by name."""
    for name in VTK_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SelftestError(f"cannot import {name}: {exc}") from exc
    from app.viewer.gl_probe import capabilities

    gl = capabilities()  # in a child process (in a bundle: this executable with -c)
    state = ("volume rendering on" + (" (CPU ray caster)" if gl.software else "")) if gl.volume_rendering else "OFF"
    return f"{len(VTK_MODULES)} VTK modules import; OpenGL {gl.version_number[0]}.{gl.version_number[1]} " \
           f"{gl.renderer or '?'}: {state}" + (f" ({gl.message})" if not gl.ok else "")


def text_summary() -> str:
    """Qt's ICU-backed services (collation, locale case mapping, time-zone names) with the bundled ICU data."""
    from functools import cmp_to_key

    from PySide6.QtCore import QCollator, QLocale, Qt, QTimeZone

    collator = QCollator(QLocale("en_US"))
    collator.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    collator.setNumericMode(True)
    order = sorted(["b10", "B2", "a"], key=cmp_to_key(collator.compare))
    upper = QLocale("tr_TR").toUpper("i")
    zone = QTimeZone(b"Europe/Berlin").displayName(QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName,
                                                  QLocale("en_US"))
    if order != ["a", "B2", "b10"] or upper != "\u0130" or "Central European" not in zone:
        raise SelftestError(f"ICU text services: collation {order}, Turkish upper-case {upper!r}, zone name {zone!r}")
    return f"collation {' < '.join(order)}; Turkish upper-case of i is {upper}; Europe/Berlin is {zone!r}"


def import_demo(app: Any, window: Any) -> tuple[int, str, str]:
    """Import the demo CT through the window's task bridge; (instances, study UID, series UID)."""
    source = resources_dir() / "samples" / DEMO_STUDY
    if not source.is_dir():
        raise SelftestError(f"demo study missing: {source}")
    outcome: dict[str, Any] = {}
    handle = window.import_paths([source], label="Selftest import")
    handle.succeeded.connect(lambda result: outcome.update(result=result))
    handle.failed.connect(lambda exc: outcome.update(error=exc))
    wait_until(app, lambda: handle.done, 120, "the import")
    if "error" in outcome:
        raise SelftestError(f"import failed: {outcome['error']}")
    summary = outcome.get("result")
    if summary is None or summary.imported == 0 or summary.rejected or summary.quarantined:
        raise SelftestError(f"import incomplete: {summary.format().splitlines()[0] if summary else 'cancelled'}")
    study_uid = next(iter(summary.studies))
    series = max(window.cache.list_series(study_uid), key=lambda s: s.num_instances)
    return summary.imported, study_uid, series.series_instance_uid


def render_slice(cache: "Cache", series_uid: str) -> tuple[np.ndarray, str]:
    """Middle slice through the 2D viewer's offscreen VTK path."""
    from app.viewer import offscreen_view
    from app.viewer.loading import open_series
    from app.viewer.measurements import StudyAnnotations
    from app.viewer.viewport_model import ViewportModel

    opened = open_series(cache, series_uid)
    model = ViewportModel(StudyAnnotations(opened.info.study_uid))
    model.set_series(opened.info, opened.frames, opened.first)
    image = offscreen_view.render_layout([model], 1, 1, PANEL, PANEL)
    return check_image(image, "the CT slice"), f"CT slice {opened.first + 1}/{opened.info.frame_count}, VTK viewer"


def render_mpr(cache: "Cache", study_uid: str, folder: Path) -> tuple[np.ndarray, str]:
    """The MPR layout through app.viewer.mpr.headless (VTK)."""
    from PIL import Image

    from app.viewer.mpr import headless

    out = folder / "mpr.png"
    headless.render_mpr_png(cache, study_uid, out, (PANEL * 2, PANEL))
    with Image.open(out) as img:
        return check_image(np.asarray(img.convert("RGB")), "the MPR"), "MPR, app.viewer.mpr (VTK)"


def grab_window(window: Any) -> np.ndarray:
    """The main window as an RGB array (QWidget.grab)."""
    from PySide6.QtGui import QImage

    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def compose(panels: list[tuple[np.ndarray, str]], title: str) -> Any:
    """One PIL image: a title line, then each panel scaled to PANEL high with its label above."""
    from PIL import Image, ImageDraw

    scaled = []
    for pixels, label in panels:
        img = Image.fromarray(pixels)
        scaled.append((img.resize((max(1, round(img.width * PANEL / img.height)), PANEL)), label))
    width = sum(img.width for img, _ in scaled) + 10 * (len(scaled) + 1)
    canvas = Image.new("RGB", (width, PANEL + 60), (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    draw.text((10, 6), title, fill=(255, 255, 255))
    left = 10
    for img, label in scaled:
        draw.text((left, 30), label, fill=(200, 220, 255))
        canvas.paste(img, (left, 50))
        left += img.width + 10
    return canvas


def run_selftest(out: Optional[Path] = None, *, verbose: bool = False) -> int:
    """Run every stage; print timings; return 0, or 1 after a one-line reason on stderr."""
    stages = Stages()
    started = time.perf_counter()
    print(f"telerad selftest {__version__}", flush=True)
    with tempfile.TemporaryDirectory(prefix="telerad-selftest-") as tmp:
        folder = Path(tmp)
        try:
            _run(stages, folder, Path(out).resolve() if out else None)
        except BaseException as exc:  # noqa: BLE001 (every failure becomes one line and exit 1)
            if verbose:
                traceback.print_exc()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"telerad selftest: FAILED at {stages.current}: {reason}", file=sys.stderr, flush=True)
            return 1
    print(f"selftest OK in {time.perf_counter() - started:.2f} s "
          f"(process age {process_age():.2f} s)", flush=True)
    return 0


def _run(stages: Stages, folder: Path, out: Optional[Path]) -> None:
    paths = Paths(folder / "home", folder / "home" / "config")
    with stages.stage("window") as info:
        app, window, ws = open_window(paths)
        info["note"] = (f"time-to-window {process_age():.2f} s after process start "
                        f"(Qt platform {app.platformName()})")
    try:
        _render_all(stages, app, window, ws.cache, folder, out)
    finally:
        window.close()
        app.processEvents()
        ws.close()
        from app.dicom.volume import shutdown_pool

        shutdown_pool()


def _render_all(stages: Stages, app: Any, window: Any, cache: "Cache", folder: Path, out: Optional[Path]) -> None:
    with stages.stage("codecs") as info:
        info["note"] = codec_summary()
    with stages.stage("text") as info:
        info["note"] = text_summary()
    with stages.stage("vtk") as info:
        info["note"] = vtk_summary()
    with stages.stage("import") as info:
        count, study_uid, series_uid = import_demo(app, window)
        wait_until(app, lambda: not window.bridge.running(), 60, "the worklist refresh")
        info["note"] = f"{count} instances of {DEMO_STUDY} into a temporary cache"
    with stages.stage("slice") as info:
        slice_rgb, slice_label = render_slice(cache, series_uid)
        info["note"] = slice_label
    with stages.stage("mpr") as info:
        mpr_rgb, mpr_label = render_mpr(cache, study_uid, folder)
        info["note"] = mpr_label
    with stages.stage("png") as info:
        shot = check_image(grab_window(window), "the main window")
        image = compose([(shot, "main window"), (slice_rgb, slice_label), (mpr_rgb, mpr_label)],
                        f"Telerad Workstation {__version__} selftest")
        target = out or folder / "selftest.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, format="PNG")
        info["note"] = f"{target} {image.width}x{image.height}" + ("" if out else " (no --out: not kept)")
