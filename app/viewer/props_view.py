"""Small VTK building blocks of the scene: render-window settings, text actors, 2D polylines."""

from __future__ import annotations

from typing import Any

import vtkmodules.vtkRenderingFreeType  # noqa: F401 - text rendering factory
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - OpenGL factory
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D, vtkRenderer,
                                         vtkTextActor)


def configure_render_window(rw: Any) -> None:
    """Settings that keep software (llvmpipe) rendering fast."""
    rw.SetMultiSamples(0)
    rw.SetAlphaBitPlanes(0)
    rw.SetLineSmoothing(0)


def text_actor(size: int, h: str, v: str, rgb: tuple = (0.95, 0.95, 0.95)) -> vtkTextActor:
    actor = vtkTextActor()
    prop = actor.GetTextProperty()
    prop.SetFontSize(size)
    prop.SetColor(*rgb)
    prop.SetShadow(1)
    {"left": prop.SetJustificationToLeft, "right": prop.SetJustificationToRight,
     "center": prop.SetJustificationToCentered}[h]()
    {"top": prop.SetVerticalJustificationToTop, "bottom": prop.SetVerticalJustificationToBottom,
     "center": prop.SetVerticalJustificationToCentered}[v]()
    return actor


class Lines:
    """One 2D actor drawing polylines given in world or display coordinates."""

    def __init__(self, renderer: vtkRenderer, rgb: tuple, world: bool, width: float = 1.5) -> None:
        self.poly = vtkPolyData()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self.poly)
        if world:
            coord = vtkCoordinate()
            coord.SetCoordinateSystemToWorld()
            mapper.SetTransformCoordinate(coord)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*rgb)
        self.actor.GetProperty().SetLineWidth(width)
        renderer.AddViewProp(self.actor)

    def set(self, polylines: list[list[tuple[float, float]]]) -> None:
        points, cells = vtkPoints(), vtkCellArray()
        for line in polylines:
            if len(line) < 2:
                continue
            ids = [points.InsertNextPoint(x, y, 0.0) for x, y in line]
            cells.InsertNextCell(len(ids), ids)
        self.poly.SetPoints(points)
        self.poly.SetLines(cells)
        self.poly.Modified()
