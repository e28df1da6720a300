"""Volume rendering view (Qt + VTK): trackball camera, presets, clipping box (vtkBoxWidget2).

Call :meth:`VolumeView.close_vtk` before the widget goes away (VTK widgets need an explicit
Finalize). VTK is touched on the main thread only.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import vtkmodules.vtkInteractionStyle  # noqa: F401 - interactor styles
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - OpenGL render window
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkCommonDataModel import vtkPlanes
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkInteractionWidgets import vtkBoxRepresentation, vtkBoxWidget2
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkWindowToImageFilter

from app.dicom.geometry import VolumeGeometry
from app.viewer.mpr.volume_scene import VolumeScene


class VolumeView(QWidget):
    """A 3D view of one volume; ``software`` (from the GL probe) selects the CPU ray caster."""

    def __init__(self, parent: Optional[QWidget] = None, software: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("mpr_volume")
        self.software = software
        self.vtk_widget = QVTKRenderWindowInteractor(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.vtk_widget)
        self.renderer = vtkRenderer()
        self.render_window = self.vtk_widget.GetRenderWindow()
        self.render_window.AddRenderer(self.renderer)
        self.interactor = self.render_window.GetInteractor()
        self.interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self.interactor.SetDesiredUpdateRate(10.0)
        self.interactor.SetStillUpdateRate(0.5)
        self.scene: Optional[VolumeScene] = None
        self.box: Optional[vtkBoxWidget2] = None
        self._planes = vtkPlanes()
        self.vtk_widget.Initialize()

    def set_volume(self, array: np.ndarray, geometry: VolumeGeometry, preset: str) -> None:
        if self.scene is not None:
            self.scene.release()
        self.scene = VolumeScene(self.renderer, array, geometry, preset, software=self.software)
        self.render()

    def set_preset(self, name: str) -> None:
        if self.scene is not None:
            self.scene.set_preset(name)
            self.render()

    def set_clipping(self, enabled: bool) -> None:
        """Show a box widget whose faces clip the volume (off: remove box and clipping)."""
        if self.scene is None:
            return
        if enabled and self.box is None:
            rep = vtkBoxRepresentation()
            rep.SetPlaceFactor(1.0)
            rep.PlaceWidget(self.scene.bounds())
            rep.SetInsideOut(True)
            self.box = vtkBoxWidget2()
            self.box.SetInteractor(self.interactor)
            self.box.SetRepresentation(rep)
            self.box.AddObserver("InteractionEvent", self._box_moved)
            self.box.On()
            self._box_moved()
        elif not enabled and self.box is not None:
            self.box.Off()
            self.box = None
            self.scene.set_clip_box(None)
        self.render()

    def set_clip_box(self, bounds: tuple[float, ...]) -> None:
        """Place the clipping box (LPS bounds) programmatically."""
        self.set_clipping(True)
        assert self.box is not None
        self.box.GetRepresentation().PlaceWidget(bounds)
        self._box_moved()
        self.render()

    def _box_moved(self, *_args: object) -> None:
        if self.box is not None and self.scene is not None:
            self.box.GetRepresentation().GetPlanes(self._planes)
            self.scene.mapper.SetClippingPlanes(self._planes)

    def reset(self) -> None:
        if self.scene is not None:
            self.scene.reset_camera()
            self.render()

    def render(self) -> None:
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
        """Finalize VTK (call before deleting the widget)."""
        if self.box is not None:
            self.box.Off()
            self.box = None
        if self.scene is not None:
            self.scene.release()
            self.scene = None
        self.render_window.Finalize()
        self.vtk_widget.close()
