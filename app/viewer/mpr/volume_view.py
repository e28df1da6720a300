"""Volume rendering view (Qt + VTK): trackball camera (camera_drag.py), presets, crop box.

The crop box is edited in a :class:`~app.viewer.mpr.clip_panel.ClipPanel` under the 3D pane
and drawn as a thin outline in the scene (no vtkInteractionWidgets: that module alone pulls
some 30 MB of VTK libraries into the bundle). Call :meth:`VolumeView.close_vtk` before the
widget goes away. VTK is touched on the main thread only.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - OpenGL render window
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkFiltersSources import vtkOutlineSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkWindowToImageFilter

from app.dicom.geometry import VolumeGeometry
from app.viewer.mpr.camera_drag import TrackballCamera
from app.viewer.mpr.clip_panel import ClipPanel
from app.viewer.mpr.volume_scene import VolumeScene

#: Colour of the crop outline (RGB 0..1).
OUTLINE_COLOUR = (1.0, 0.8, 0.2)


class VolumeView(QWidget):
    """A 3D view of one volume; ``software`` (from the GL probe) selects the CPU ray caster."""

    def __init__(self, parent: Optional[QWidget] = None, software: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("mpr_volume")
        self.software = software
        self.clipping = False
        self.vtk_widget = QVTKRenderWindowInteractor(self)
        self.clip_panel = ClipPanel(self)
        self.clip_panel.hide()
        self.clip_panel.bounds_changed.connect(self._crop_changed)
        self.clip_panel.interaction_finished.connect(self.render)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.vtk_widget, 1)
        layout.addWidget(self.clip_panel)
        self.renderer = vtkRenderer()
        self.render_window = self.vtk_widget.GetRenderWindow()
        self.render_window.AddRenderer(self.renderer)
        self.interactor = self.render_window.GetInteractor()
        self.camera_control = TrackballCamera(self.interactor, self.renderer)
        self.interactor.SetDesiredUpdateRate(10.0)
        self.interactor.SetStillUpdateRate(0.5)
        self.scene: Optional[VolumeScene] = None
        self.outline = self._make_outline()
        self.vtk_widget.Initialize()

    def _make_outline(self) -> vtkActor:
        self._outline_source = vtkOutlineSource()
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(self._outline_source.GetOutputPort())
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.PickableOff()
        actor.GetProperty().SetColor(*OUTLINE_COLOUR)
        actor.GetProperty().SetLineWidth(1.5)
        actor.GetProperty().LightingOff()
        return actor

    def set_volume(self, array: np.ndarray, geometry: VolumeGeometry, preset: str) -> None:
        if self.scene is not None:
            self.scene.release()
        self.scene = VolumeScene(self.renderer, array, geometry, preset, software=self.software)
        self.clip_panel.set_extent(self.scene.bounds())
        self.set_clipping(self.clipping)

    def set_preset(self, name: str) -> None:
        if self.scene is not None:
            self.scene.set_preset(name)
            self.render()

    def set_clipping(self, enabled: bool) -> None:
        """Crop on: show the crop panel and outline and clip the volume; off: whole volume."""
        self.clipping = enabled
        self.clip_panel.setVisible(enabled and self.scene is not None)
        self._apply_crop()
        self.render()

    def set_clip_box(self, bounds: Sequence[float]) -> None:
        """Turn cropping on and keep only (xmin, xmax, ymin, ymax, zmin, zmax) LPS."""
        self.set_clipping(True)
        self.clip_panel.set_bounds(bounds)

    def _crop_changed(self, _bounds: tuple[float, ...]) -> None:
        self._apply_crop()
        if self.clip_panel.dragging():  # coarser, faster frames while a handle is held
            self.render_window.SetDesiredUpdateRate(self.interactor.GetDesiredUpdateRate())
        self.render()

    def _apply_crop(self) -> None:
        on = self.clipping and self.scene is not None
        if on and not self.renderer.HasViewProp(self.outline):
            self.renderer.AddActor(self.outline)
        elif not on:
            self.renderer.RemoveActor(self.outline)
        if self.scene is None:
            return
        if on:
            bounds = self.clip_panel.bounds()
            self.scene.set_clip_box(bounds)
            self._outline_source.SetBounds(*bounds)
        else:
            self.scene.set_clip_box(None)

    def reset(self) -> None:
        if self.scene is not None:
            self.scene.reset_camera()
            self.render()

    def render(self) -> None:
        if not self.clip_panel.dragging():
            self.render_window.SetDesiredUpdateRate(self.interactor.GetStillUpdateRate())
        self.render_window.Render()

    def snapshot(self) -> np.ndarray:
        """(h, w, 3) uint8 of the current rendering (vtkWindowToImageFilter, top row first)."""
        from vtkmodules.util.numpy_support import vtk_to_numpy

        self.render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(self.render_window)
        grab.ReadFrontBufferOff()
        grab.Update()
        image = grab.GetOutput()
        w, h, _ = image.GetDimensions()
        pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, -1)[::-1, :, :3]
        return np.ascontiguousarray(pixels)

    def close_vtk(self) -> None:
        """Remove the outline and volume, Finalize the render window (call before deleting the widget)."""
        self.renderer.RemoveActor(self.outline)
        self.camera_control.detach()
        if self.scene is not None:
            self.scene.release()
            self.scene = None
        self.render_window.Finalize()
        self.vtk_widget.close()
