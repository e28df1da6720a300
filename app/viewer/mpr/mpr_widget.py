"""The MPR layout (Qt): axial, coronal, sagittal and 3D views with a small tool bar.

Usage::

    widget = MprWidget(volume_rendering=True)   # False: no 3D pane (e.g. the GL probe said no)
    widget.set_volume(array, geometry, window=(40, 80), modality="CT")
    # or widget.set_mpr_volume(load_mpr_volume(cache, series_uid))   (load in a worker thread)
    ...
    widget.close_vtk()                           # before the widget is deleted

Views are refreshed on demand: a change marks every plane view for repaint, and each view's
scene cache reslices only the planes that really moved. While a mouse button is down the
views show fast previews; ``REFINE_MS`` after the last change they are refined.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from app.dicom.geometry import VolumeGeometry
from app.viewer.mpr.measure import Measurement
from app.viewer.mpr.plane_view import PlaneView
from app.viewer.mpr.planes import VIEWS
from app.viewer.mpr.scene import MprScene
from app.viewer.mpr.vr_presets import PRESETS, default_preset

REFINE_MS = 150
SLAB_LABELS = {"none": "Thin", "mip": "MIP", "minip": "MinIP", "mean": "Average"}


class MprWidget(QWidget):
    """Linked MPR views of one volume; emits ``windowChanged`` to share W/L with the 2D viewer."""

    windowChanged = Signal(float, float)  # noqa: N815 - Qt naming
    centreChanged = Signal(float, float, float)  # noqa: N815

    def __init__(self, parent: Optional[QWidget] = None, volume_rendering: bool = True,
                 software_vr: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("mpr_layout")
        self.scene: Optional[MprScene] = None
        self.interacting = False
        self.measuring = False
        self.measurements: list[Measurement] = []
        self.views = {view: PlaneView(view, self) for view in VIEWS}
        self.volume_view = None
        if volume_rendering:
            from app.viewer.mpr.volume_view import VolumeView

            self.volume_view = VolumeView(self, software=software_vr)
        self._refine = QTimer(self)
        self._refine.setSingleShot(True)
        self._refine.timeout.connect(self._refine_now)
        self._build()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        bar = QHBoxLayout()
        self.slab_mode = QComboBox()
        for mode, label in SLAB_LABELS.items():
            self.slab_mode.addItem(label, mode)
        self.slab_thickness = QDoubleSpinBox()
        self.slab_thickness.setRange(0.0, 200.0)
        self.slab_thickness.setSuffix(" mm")
        self.slab_thickness.setValue(10.0)
        self.slab_mode.currentIndexChanged.connect(self._slab_changed)
        self.slab_thickness.valueChanged.connect(self._slab_changed)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setCheckable(True)
        self.measure_button.toggled.connect(self._measure_toggled)
        reset = QPushButton("Reset")
        reset.clicked.connect(self.reset)
        self.vr_preset = QComboBox()
        self.vr_preset.addItems(list(PRESETS))
        self.vr_preset.currentTextChanged.connect(self._preset_changed)
        self.clip_button = QPushButton("Crop")
        self.clip_button.setCheckable(True)
        self.clip_button.setToolTip("Crop the 3D volume along the patient axes")
        self.clip_button.toggled.connect(self._clip_toggled)
        self.message = QLabel("")
        for w in (QLabel("Slab"), self.slab_mode, self.slab_thickness, self.measure_button, reset):
            bar.addWidget(w)
        if self.volume_view is not None:
            bar.addWidget(QLabel("3D"))
            bar.addWidget(self.vr_preset)
            bar.addWidget(self.clip_button)
        bar.addWidget(self.message, 1)
        grid = QGridLayout()
        grid.setSpacing(2)
        grid.addWidget(self.views["axial"], 0, 0)
        grid.addWidget(self.views["coronal"], 0, 1)
        grid.addWidget(self.views["sagittal"], 1, 0)
        if self.volume_view is not None:
            grid.addWidget(self.volume_view, 1, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(bar)
        outer.addLayout(grid, 1)

    # -- data -----------------------------------------------------------------------------
    def set_volume(self, array: np.ndarray, geometry: VolumeGeometry, window: Optional[tuple[float, float]] = None,
                   modality: str = "") -> None:
        """Show a (z, y, x) modality-value volume (kept by reference, never copied)."""
        if self.scene is not None:
            self.scene.release()
        self.scene = MprScene(np.ascontiguousarray(array), geometry, window)
        self.measurements.clear()
        if self.volume_view is not None:
            preset = default_preset(modality)
            self.vr_preset.blockSignals(True)
            self.vr_preset.setCurrentText(preset)
            self.vr_preset.blockSignals(False)
            self.volume_view.set_volume(self.scene.array, geometry, preset)
        self._slab_changed()
        self.refresh()

    def set_mpr_volume(self, volume: "object") -> None:
        """Show an :class:`app.viewer.mpr.loader.MprVolume`."""
        self._keep = volume
        self.set_volume(volume.array, volume.geometry, volume.window, volume.modality)  # type: ignore[attr-defined]

    # -- changes from the views -----------------------------------------------------------
    def begin_interaction(self) -> None:
        self.interacting = True
        self._refine.stop()

    def end_interaction(self) -> None:
        self._refine.start(REFINE_MS)

    def _refine_now(self) -> None:
        self.interacting = False
        self.refresh()

    def changed(self, what: str) -> None:
        """A view changed the state: repaint (unchanged planes are not resliced)."""
        if self.scene is None:
            return
        self.refresh()
        if what == "centre":
            self.centreChanged.emit(*(float(v) for v in self.scene.state.centre))

    def refresh(self) -> None:
        for view in self.views.values():
            view.update()

    def repaint_now(self) -> None:
        """Paint every plane view synchronously (benchmarks, tests)."""
        for view in self.views.values():
            view.repaint()

    def scroll(self, view: str, steps: float) -> None:
        """Move ``view``'s plane by ``steps`` voxel steps along its normal."""
        if self.scene is None:
            return
        self.begin_interaction()
        self.scene.state.scroll(view, steps * self.scene.state.sample_spacing(view))
        self.changed("plane")
        self.end_interaction()

    def set_window(self, centre: float, width: float) -> None:
        """Set the window of every view (e.g. from the 2D viewer)."""
        if self.scene is not None:
            self.scene.state.window = (float(centre), max(float(width), 1.0))
            self.refresh()
            self.windowChanged.emit(*self.scene.state.window)

    def drag_window(self, dx: float, dy: float) -> None:
        centre, width = self.scene.state.window  # type: ignore[union-attr]
        step = max(width, 1.0) / 256.0 + 0.5
        self.set_window(centre + dy * step, width + dx * step)

    def add_measurement(self, m: Measurement) -> None:
        self.measurements.append(m)
        self.message.setText(f"Length {m.label()}")
        self.refresh()

    def reset(self) -> None:
        if self.scene is None:
            return
        self.scene.state.reset()
        self.slab_mode.setCurrentIndex(0)
        self.interacting = False
        self.refresh()
        if self.volume_view is not None:
            self.volume_view.reset()

    # -- tool bar -------------------------------------------------------------------------
    def set_slab(self, mode: str, thickness_mm: float) -> None:
        self.slab_thickness.setValue(thickness_mm)
        self.slab_mode.setCurrentIndex(list(SLAB_LABELS).index(mode))
        self._slab_changed()

    def _slab_changed(self, *_args: object) -> None:
        if self.scene is not None:
            self.scene.state.set_slab(self.slab_mode.currentData(), self.slab_thickness.value())
            self.refresh()

    def _measure_toggled(self, on: bool) -> None:
        self.measuring = on

    def _preset_changed(self, name: str) -> None:
        if self.volume_view is not None and name in PRESETS:
            self.volume_view.set_preset(name)

    def _clip_toggled(self, on: bool) -> None:
        if self.volume_view is not None:
            self.volume_view.set_clipping(on)

    def snapshot(self) -> np.ndarray:
        """(h, w, 3) uint8 picture of the layout: Qt views grabbed, the 3D pane read from VTK."""
        from PySide6.QtGui import QImage

        image = self.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        w, h = image.width(), image.height()
        rows = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(h, image.bytesPerLine())
        out = rows[:, : w * 3].reshape(h, w, 3).copy()
        if self.volume_view is not None and self.volume_view.isVisible():
            pixels = self.volume_view.snapshot()
            top_left = self.volume_view.mapTo(self, self.volume_view.rect().topLeft())
            ph, pw = min(pixels.shape[0], h - top_left.y()), min(pixels.shape[1], w - top_left.x())
            out[top_left.y():top_left.y() + ph, top_left.x():top_left.x() + pw] = pixels[:ph, :pw]
        return out

    def close_vtk(self) -> None:
        """Release VTK objects (Finalize the 3D view); call before deleting the widget."""
        self._refine.stop()
        if self.volume_view is not None:
            self.volume_view.close_vtk()
        if self.scene is not None:
            self.scene.release()
            self.scene = None
