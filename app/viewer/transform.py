"""Image <-> world <-> screen mapping of one viewport (pure math, no Qt, no VTK).

World coordinates are millimetres in the image plane: pixel (col, row) has its centre at
(col * sx, row * sy), rows going down. Screen coordinates are physical pixels from the
viewport's top-left corner, y down. The view is: translate so ``center`` is mid-viewport,
mirror x when ``hflip``, rotate by ``rotation`` quarter turns clockwise, scale by ``ppm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Point = tuple[float, float]


def _rotate(x: float, y: float, quarter_turns: int) -> Point:
    """Rotate a y-down vector clockwise on screen by ``quarter_turns`` * 90 degrees."""
    for _ in range(quarter_turns % 4):
        x, y = -y, x
    return x, y


@dataclass(frozen=True)
class ViewTransform:
    """Where a (cols x rows) image with spacing (sx, sy) mm lands in a (width x height) viewport."""

    cols: int
    rows: int
    sx: float
    sy: float
    width: int
    height: int
    ppm: float  # physical screen pixels per millimetre
    center: Point  # world point shown at the viewport centre
    rotation: int = 0
    hflip: bool = False

    # -- image <-> world -------------------------------------------------------------------
    def image_to_world(self, col: float, row: float) -> Point:
        return col * self.sx, row * self.sy

    def world_to_image(self, x: float, y: float) -> Point:
        return x / self.sx, y / self.sy

    # -- world <-> screen ------------------------------------------------------------------
    def world_to_screen(self, x: float, y: float) -> Point:
        dx, dy = x - self.center[0], y - self.center[1]
        if self.hflip:
            dx = -dx
        dx, dy = _rotate(dx, dy, self.rotation)
        return self.width / 2.0 + dx * self.ppm, self.height / 2.0 + dy * self.ppm

    def screen_to_world(self, u: float, v: float) -> Point:
        dx, dy = (u - self.width / 2.0) / self.ppm, (v - self.height / 2.0) / self.ppm
        dx, dy = _rotate(dx, dy, -self.rotation)
        if self.hflip:
            dx = -dx
        return self.center[0] + dx, self.center[1] + dy

    def image_to_screen(self, col: float, row: float) -> Point:
        return self.world_to_screen(*self.image_to_world(col, row))

    def screen_to_image(self, u: float, v: float) -> Point:
        return self.world_to_image(*self.screen_to_world(u, v))

    def screen_vector_to_world(self, du: float, dv: float) -> Point:
        """A screen direction expressed in world axes (no translation)."""
        dx, dy = _rotate(du / self.ppm, dv / self.ppm, -self.rotation)
        return (-dx if self.hflip else dx), dy

    # -- camera ------------------------------------------------------------------------------
    def view_up(self) -> Point:
        """World direction shown pointing up on screen (unit)."""
        x, y = self.screen_vector_to_world(0.0, -1.0)
        n = math.hypot(x, y)
        return x / n, y / n

    @property
    def parallel_scale(self) -> float:
        """Half the viewport height in world millimetres (VTK parallel projection)."""
        return self.height / (2.0 * self.ppm)

    @property
    def pixel_zoom(self) -> float:
        """Screen pixels per image pixel along a row (1.0 = 1:1)."""
        return self.ppm * self.sx


def fit_ppm(cols: int, rows: int, sx: float, sy: float, width: int, height: int, rotation: int = 0) -> float:
    """Scale that fits the whole image in the viewport (respecting a 90-degree rotation)."""
    w_mm, h_mm = cols * sx, rows * sy
    if rotation % 2:
        w_mm, h_mm = h_mm, w_mm
    return max(min(width / w_mm, height / h_mm), 1e-6)


def image_center(cols: int, rows: int, sx: float, sy: float) -> Point:
    """World coordinates of the image's centre (between the middle pixel centres)."""
    return (cols - 1) / 2.0 * sx, (rows - 1) / 2.0 * sy
