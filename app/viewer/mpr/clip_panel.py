"""Crop panel (Qt only): a low and a high slider per patient axis (LPS x, y, z), limits shown in mm.

Usage::

    panel = ClipPanel()
    panel.set_extent(scene.bounds())          # full volume, crop reset
    panel.bounds_changed.connect(apply_crop)  # (xmin, xmax, ymin, ymax, zmin, zmax) LPS mm

Sliders run over 0..STEPS of each axis extent; the low one never passes the high one (they
stay ``MIN_GAP`` steps apart). Arrow keys move a focused slider by 0.5 %, Page Up/Down by 5 %.
"""

from __future__ import annotations

from functools import partial
from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSlider, QWidget

STEPS = 1000
MIN_GAP = 10
#: (row label, tooltip, low end, high end) per LPS axis.
AXES = (("R–L", "Right to left (LPS x)", "Right", "Left"),
        ("A–P", "Anterior to posterior (LPS y)", "Anterior", "Posterior"),
        ("I–S", "Inferior to superior (LPS z)", "Inferior", "Superior"))


class ClipPanel(QWidget):
    """Crop box editor; emits ``bounds_changed`` with the 6 LPS bounds after each change."""

    bounds_changed = Signal(tuple)
    #: A slider drag ended (the view may render at full quality).
    interaction_finished = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("mpr_clip_panel")
        self._extent = [0.0, 1.0] * 3
        self._bounds = list(self._extent)
        self.sliders: list[tuple[QSlider, QSlider]] = []
        self.labels: list[QLabel] = []
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 2, 6, 2)
        grid.setVerticalSpacing(0)
        for axis, (name, tip, low_end, high_end) in enumerate(AXES):
            title = QLabel(name)
            title.setToolTip(tip)
            pair = (self._slider(f"{low_end} limit"), self._slider(f"{high_end} limit"))
            for side, slider in enumerate(pair):
                slider.valueChanged.connect(partial(self._moved, axis, side))
                slider.sliderReleased.connect(self.interaction_finished)
                grid.addWidget(slider, axis, 1 + side)
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance("−0000.0 … −0000.0 mm"))
            grid.addWidget(title, axis, 0)
            grid.addWidget(label, axis, 3)
            self.sliders.append(pair)
            self.labels.append(label)
        self.reset_button = QPushButton("Full")
        self.reset_button.setToolTip("Show the whole volume")
        self.reset_button.clicked.connect(self.reset)
        grid.addWidget(self.reset_button, 0, 4, 3, 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        self._show_limits()

    @staticmethod
    def _slider(name: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, STEPS)
        slider.setSingleStep(5)
        slider.setPageStep(50)
        slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        slider.setToolTip(name)
        slider.setAccessibleName(name)
        return slider

    # -- public API ------------------------------------------------------------------------
    def set_extent(self, bounds: Sequence[float]) -> None:
        """The full volume bounds (LPS); resets the crop to them without emitting."""
        self._extent = [float(v) for v in bounds]
        self._bounds = list(self._extent)
        self._sync_sliders()

    def set_bounds(self, bounds: Sequence[float]) -> None:
        """Place the crop (clamped to the extent, ordered per axis); emits ``bounds_changed`` once."""
        for axis in range(3):
            lo, hi = self._extent[2 * axis], self._extent[2 * axis + 1]
            a, b = sorted(min(max(float(v), lo), hi) for v in bounds[2 * axis: 2 * axis + 2])
            self._bounds[2 * axis: 2 * axis + 2] = [a, b]
        self._sync_sliders()
        self.bounds_changed.emit(self.bounds())

    def bounds(self) -> tuple[float, ...]:
        """Current crop (xmin, xmax, ymin, ymax, zmin, zmax) in LPS mm."""
        return tuple(self._bounds)

    def reset(self) -> None:
        """Crop to the full extent (emits)."""
        self.set_bounds(self._extent)

    def dragging(self) -> bool:
        """True while the user holds a slider handle."""
        return any(s.isSliderDown() for pair in self.sliders for s in pair)

    # -- internals -------------------------------------------------------------------------
    def _mm(self, axis: int, value: int) -> float:
        lo, hi = self._extent[2 * axis], self._extent[2 * axis + 1]
        return lo + (hi - lo) * value / STEPS

    def _step(self, axis: int, mm: float) -> int:
        lo, hi = self._extent[2 * axis], self._extent[2 * axis + 1]
        return round((mm - lo) / (hi - lo) * STEPS) if hi > lo else 0

    def _moved(self, axis: int, side: int, value: int) -> None:
        low, high = self.sliders[axis]
        if side == 0 and value > high.value() - MIN_GAP:
            low.setValue(high.value() - MIN_GAP)  # re-enters with the clamped value
            return
        if side == 1 and value < low.value() + MIN_GAP:
            high.setValue(low.value() + MIN_GAP)
            return
        self._bounds[2 * axis + side] = self._mm(axis, value)
        self._show_limits()
        self.bounds_changed.emit(self.bounds())

    def _sync_sliders(self) -> None:
        for axis, pair in enumerate(self.sliders):
            for side, slider in enumerate(pair):
                slider.blockSignals(True)
                slider.setValue(self._step(axis, self._bounds[2 * axis + side]))
                slider.blockSignals(False)
        self._show_limits()

    def _show_limits(self) -> None:
        for axis, label in enumerate(self.labels):
            lo, hi = self._bounds[2 * axis: 2 * axis + 2]
            label.setText(f"{lo:.1f} … {hi:.1f} mm")
