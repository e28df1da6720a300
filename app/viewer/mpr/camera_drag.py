"""Trackball camera for the 3D pane, driven by interactor observers (VTK main thread only).

Same gestures and rates as VTK's vtkInteractorStyleTrackballCamera — left drag rotates,
Ctrl+left spins, middle or Shift+left pans, right drag and the wheel dolly — without the
vtkInteractionStyle module (it pulls ~8 MB of unrelated VTK libraries into the bundle). The
interactor keeps a plain ``vtkInteractorStyle``, whose Start/End calls switch the render window
between the interactor's desired (moving) and still update rates, so the ray caster samples
coarsely while dragging and finely when the mouse is released.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from vtkmodules.vtkRenderingCore import vtkInteractorStyle, vtkRenderer, vtkRenderWindowInteractor

MOTION_FACTOR = 10.0  # VTK's default: degrees per 1/20 of the window per unit
WHEEL_STEP = 1.1 ** (MOTION_FACTOR * 0.2)  # dolly factor of one wheel notch (as VTK)


class TrackballCamera:
    """Attach to ``interactor``; moves ``renderer``'s active camera. Call :meth:`detach` on close."""

    def __init__(self, interactor: vtkRenderWindowInteractor, renderer: vtkRenderer) -> None:
        self.interactor = interactor
        self.renderer = renderer
        self.style = vtkInteractorStyle()
        interactor.SetInteractorStyle(self.style)
        self.mode = ""
        self._tags: list[int] = []
        handlers: dict[str, Callable[..., None]] = {
            "LeftButtonPressEvent": self._left_down, "MiddleButtonPressEvent": self._middle_down,
            "RightButtonPressEvent": self._right_down, "LeftButtonReleaseEvent": self._release,
            "MiddleButtonReleaseEvent": self._release, "RightButtonReleaseEvent": self._release,
            "MouseMoveEvent": self._move, "MouseWheelForwardEvent": self._wheel_forward,
            "MouseWheelBackwardEvent": self._wheel_backward}
        for event, handler in handlers.items():
            self._tags.append(interactor.AddObserver(event, handler, 1.0))

    def detach(self) -> None:
        for tag in self._tags:
            self.interactor.RemoveObserver(tag)
        self._tags.clear()

    # -- gestures ---------------------------------------------------------------------------
    def _start(self, mode: str) -> None:
        self.mode = mode
        self.style.StartRotate()  # any Start* switches to the desired (interactive) update rate

    def _left_down(self, *_: Any) -> None:
        if self.interactor.GetShiftKey():
            self._start("pan")
        else:
            self._start("spin" if self.interactor.GetControlKey() else "rotate")

    def _middle_down(self, *_: Any) -> None:
        self._start("pan")

    def _right_down(self, *_: Any) -> None:
        self._start("dolly")

    def _release(self, *_: Any) -> None:
        if self.mode:
            self.mode = ""
            self.style.EndRotate()  # back to the still update rate, renders once at full quality

    def _move(self, *_: Any) -> None:
        if not self.mode:
            return
        (x, y), (last_x, last_y) = self.interactor.GetEventPosition(), self.interactor.GetLastEventPosition()
        getattr(self, "_" + self.mode)(x - last_x, y - last_y, (x, y), (last_x, last_y))
        self.renderer.ResetCameraClippingRange()
        self.interactor.Render()

    def _wheel_forward(self, *_: Any) -> None:
        self._wheel(WHEEL_STEP)

    def _wheel_backward(self, *_: Any) -> None:
        self._wheel(1.0 / WHEEL_STEP)

    def _wheel(self, factor: float) -> None:
        self._dolly_by(factor)
        self.interactor.Render()

    # -- camera motions -----------------------------------------------------------------------
    def _rotate(self, dx: int, dy: int, *_: Any) -> None:
        width, height = self.renderer.GetRenderWindow().GetSize()
        camera = self.renderer.GetActiveCamera()
        camera.Azimuth(-20.0 / max(width, 1) * dx * MOTION_FACTOR)
        camera.Elevation(-20.0 / max(height, 1) * dy * MOTION_FACTOR)
        camera.OrthogonalizeViewUp()

    def _spin(self, _dx: int, _dy: int, now: tuple[int, int], last: tuple[int, int]) -> None:
        cx, cy = (v / 2.0 for v in self.renderer.GetRenderWindow().GetSize())
        angle = math.degrees(math.atan2(now[1] - cy, now[0] - cx) - math.atan2(last[1] - cy, last[0] - cx))
        self.renderer.GetActiveCamera().Roll(angle)

    def _dolly(self, _dx: int, dy: int, *_: Any) -> None:
        _width, height = self.renderer.GetRenderWindow().GetSize()
        self._dolly_by(1.1 ** (MOTION_FACTOR * dy / max(height / 2.0, 1.0)))

    def _dolly_by(self, factor: float) -> None:
        camera = self.renderer.GetActiveCamera()
        if camera.GetParallelProjection():
            camera.SetParallelScale(camera.GetParallelScale() / factor)
        else:
            camera.Dolly(factor)
            self.renderer.ResetCameraClippingRange()

    def _pan(self, _dx: int, _dy: int, now: tuple[int, int], last: tuple[int, int]) -> None:
        camera = self.renderer.GetActiveCamera()
        focal = camera.GetFocalPoint()
        depth = self._to_display(focal)[2]
        new, old = self._to_world(now[0], now[1], depth), self._to_world(last[0], last[1], depth)
        motion = [o - n for o, n in zip(old, new)]
        camera.SetFocalPoint(*(f + m for f, m in zip(focal, motion)))
        camera.SetPosition(*(p + m for p, m in zip(camera.GetPosition(), motion)))

    def _to_display(self, point: tuple[float, ...]) -> tuple[float, ...]:
        self.renderer.SetWorldPoint(point[0], point[1], point[2], 1.0)
        self.renderer.WorldToDisplay()
        return self.renderer.GetDisplayPoint()

    def _to_world(self, x: float, y: float, depth: float) -> tuple[float, float, float]:
        self.renderer.SetDisplayPoint(x, y, depth)
        self.renderer.DisplayToWorld()
        wx, wy, wz, w = self.renderer.GetWorldPoint()
        w = w or 1.0
        return wx / w, wy / w, wz / w
