"""Pointer and key gestures of a viewport, without Qt: they change the ViewportModel.

Left button: the active tool (window/level by default, or pan, zoom, a measurement).
Middle: pan. Right: zoom (drag up/down). Wheel: scroll frames; Ctrl+wheel: zoom at the
cursor. Keys: arrows/page keys scroll, Home/End, I invert, R/L rotate, H/V flip, F fit,
1 = 1:1 pixels, Delete removes the last touched measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from app.viewer.measurements import POINTS_NEEDED, Measurement, probe, value_unit
from app.viewer.viewport_model import ViewportModel

MEASURE_TOOLS = tuple(POINTS_NEEDED)
TOOLS = ("window", "pan", "zoom", "scroll", *MEASURE_TOOLS)
HANDLE_RADIUS = 6.0  # screen pixels

# what changed, so the scene updates only that
FRAME, WINDOW, VIEW, MEASURE, HOVER = "frame", "window", "view", "measure", "hover"
ALL = frozenset({FRAME, WINDOW, VIEW, MEASURE})  # everything a viewport shows


@dataclass
class Pointer:
    """A pointer event in physical viewport pixels (y down)."""

    u: float
    v: float
    button: str = "left"  # left | middle | right | none
    ctrl: bool = False
    shift: bool = False


class Interaction:
    """Gesture state machine of one viewport."""

    def __init__(self, model: ViewportModel, tool: str = "window") -> None:
        self.model = model
        self.tool = tool
        self._drag: Optional[str] = None
        self._last: tuple[float, float] = (0.0, 0.0)
        self._handle: Optional[tuple[Measurement, int]] = None
        self.selected: Optional[Measurement] = None

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool}")
        self.tool = tool
        self.model.active = None

    # -- pointer -----------------------------------------------------------------------------
    def press(self, ev: Pointer) -> set[str]:
        if not self.model.has_image:
            return set()
        self._last = (ev.u, ev.v)
        mode = {"middle": "pan", "right": "zoom"}.get(ev.button, self.tool)
        if mode in MEASURE_TOOLS:
            return self._press_measure(mode, ev)
        self._drag = mode
        return set()

    def _image_point(self, ev: Pointer) -> tuple[float, float]:
        return self.model.transform().screen_to_image(ev.u, ev.v)

    def _hit(self, ev: Pointer) -> Optional[tuple[Measurement, int]]:
        t = self.model.transform()
        for m in reversed(self.model.measurements()):
            for i, p in enumerate(m.points):
                u, v = t.image_to_screen(*p)
                if (u - ev.u) ** 2 + (v - ev.v) ** 2 <= HANDLE_RADIUS**2 and m.complete:
                    return m, i
        return None

    def _press_measure(self, kind: str, ev: Pointer) -> set[str]:
        model = self.model
        point = self._image_point(ev)
        active = model.active
        if active is None:
            hit = self._hit(ev)
            if hit is not None:
                self._handle, self.selected, self._drag = hit, hit[0], "handle"
                return set()
            active = model.active = model.new_measurement(kind)
        active.points.append(point)
        if kind != "probe" and len(active.points) % 2 == 1 and len(active.points) < POINTS_NEEDED[kind]:
            active.points.append(point)  # a drag places the segment's second point
        self._drag = "measure"
        if active.complete and kind == "probe":
            self._finish()
        return {MEASURE}

    def move(self, ev: Pointer) -> set[str]:
        du, dv = ev.u - self._last[0], ev.v - self._last[1]
        self._last = (ev.u, ev.v)
        model = self.model
        if not model.has_image:
            return set()
        if self._drag == "window":
            current = model.current_window() or (127.5, 256.0)
            model.state.drag_window(current, du, dv, model.value_range())
            return {WINDOW}
        if self._drag == "pan":
            model.state.pan_by(du, dv, model.transform())
            return {VIEW}
        if self._drag == "zoom":
            model.state.zoom_by(1.01 ** (-dv), model.transform())
            return {VIEW}
        if self._drag == "scroll":
            return {FRAME} if dv and model.state.scroll(1 if dv > 0 else -1) else set()
        if self._drag == "handle" and self._handle is not None:
            m, i = self._handle
            m.points[i] = self._image_point(ev)
            return {MEASURE}
        active = model.active
        if active is not None and active.points and (self._drag == "measure" or len(active.points) % 2 == 1):
            active.points[-1] = self._image_point(ev)
            return {MEASURE}
        return self._hover(ev) if self._drag is None else set()

    def _hover(self, ev: Pointer) -> set[str]:
        """The value under the cursor (HU for CT) with the pixel position, shown bottom left."""
        model = self.model
        x, y = self._image_point(ev)
        try:
            value = probe((x, y), model.values())
        except Exception:  # noqa: BLE001 - a frame that cannot decode has no value to show
            value = None
        unit = value_unit(model.series.modality if model.series is not None else "")
        text = "" if value is None else (f"({round(x)}, {round(y)}) " + (
            f"RGB {value}" if isinstance(value, tuple) else f"{value:.0f} {unit}".strip()))
        if text == model.hover_text:
            return set()
        model.hover_text = text
        return {HOVER}

    def release(self, ev: Pointer) -> set[str]:
        drag, self._drag, self._handle = self._drag, None, None
        active = self.model.active
        if drag == "measure" and active is not None:
            if active.complete:
                self._finish()
            return {MEASURE}
        return {MEASURE} if drag == "handle" else set()

    def _finish(self) -> None:
        model = self.model
        m, model.active = model.active, None
        if m is None:
            return
        if m.kind not in ("probe",) and len(set(m.points)) < 2:
            return  # a click without a drag: nothing measured
        if model.annotations is not None:
            model.annotations.add(m)
        self.selected = m

    def wheel(self, steps: float, ev: Pointer) -> set[str]:
        model = self.model
        if not model.has_image:
            return set()
        if ev.ctrl:
            model.state.zoom_by(1.15**steps, model.transform(), (ev.u, ev.v))
            return {VIEW}
        delta = -int(round(steps)) * (10 if ev.shift else 1)
        return {FRAME} if model.state.scroll(delta) else set()

    # -- keys --------------------------------------------------------------------------------
    def key(self, name: str) -> set[str]:
        model, st = self.model, self.model.state
        if not model.has_image:
            return set()
        steps = {"Down": 1, "Right": 1, "Up": -1, "Left": -1, "PageDown": 10, "PageUp": -10}
        if name in steps:
            return {FRAME} if st.scroll(steps[name]) else set()
        if name in ("Home", "End"):
            return {FRAME} if st.set_frame(0 if name == "Home" else st.frame_count - 1) else set()
        actions = {
            "I": lambda: setattr(st, "invert", not st.invert),
            "R": lambda: st.rotate(1), "L": lambda: st.rotate(-1),
            "H": st.flip_horizontal, "V": st.flip_vertical, "F": st.fit,
            "1": lambda: st.set_pixel_zoom(1.0, model.transform()),
            "X": lambda: st.set_pixel_zoom(1.0, model.transform()),  # the reading keys' 1:1 (digits are presets)
        }
        if name in actions:
            actions[name]()
            return {WINDOW} if name == "I" else {VIEW}
        if name == "Delete" and self.selected is not None and model.annotations is not None:
            model.annotations.remove(self.selected.uid)
            self.selected = None
            return {MEASURE}
        if name == "Escape" and model.active is not None:
            model.active = None
            return {MEASURE}
        return set()
