"""The VTK render surface of a viewport (imported on first use: VTK costs ~0.1-0.3 s to load)."""

from __future__ import annotations

from typing import Any

import vtkmodules.vtkRenderingFreeType  # noqa: F401 - text rendering factory
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - OpenGL factory: before the first render window
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkRenderingCore import vtkInteractorStyle

from app.viewer._qt.surface_input import SurfaceInput
from app.viewer.interaction import ALL


class VTKArea(SurfaceInput, QVTKRenderWindowInteractor):
    """Forwards Qt input to the owning ViewportWidget, never to VTK styles."""

    def __init__(self, owner: Any) -> None:
        super().__init__(owner)
        self._owner = owner
        self.setAcceptDrops(True)
        # a plain style that does nothing (no vtkInteractionStyle in the bundle: Qt input never reaches VTK)
        self.GetRenderWindow().GetInteractor().SetInteractorStyle(vtkInteractorStyle())

    def pixel_ratio(self) -> float:
        return float(self._getPixelRatio())

    def resizeEvent(self, ev: Any) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(ev)
        self._owner.model.resize(*self.physical_size())
        self._owner.scene.update(ALL)
