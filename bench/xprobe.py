"""Outside-the-process screen probe for benchmarks: read the X server's root window and send input through
XTest, with ctypes over libX11 / libXtst (no python-xlib, no xdotool needed)."""

from __future__ import annotations

import ctypes
import time
from typing import Optional

import numpy as np

ZPIXMAP = 2
ALL_PLANES = ctypes.c_ulong(~0 & 0xFFFFFFFFFFFFFFFF)


class _XImage(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
                ("format", ctypes.c_int), ("data", ctypes.c_void_p), ("byte_order", ctypes.c_int),
                ("bitmap_unit", ctypes.c_int), ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int),
                ("depth", ctypes.c_int), ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int)]


class XScreen:
    """A connection to DISPLAY: ``grab(x, y, w, h)`` -> (h, w, 3) uint8; ``key(name)``, ``click(x, y)``."""

    def __init__(self, display: str) -> None:
        x11 = self._x11 = ctypes.CDLL("libX11.so.6")
        x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        x11.XDefaultRootWindow.restype, x11.XDefaultRootWindow.argtypes = ctypes.c_ulong, [ctypes.c_void_p]
        x11.XGetImage.restype = ctypes.POINTER(_XImage)
        x11.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                  ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        x11.XDestroyImage.argtypes = [ctypes.POINTER(_XImage)]
        x11.XStringToKeysym.restype, x11.XStringToKeysym.argtypes = ctypes.c_ulong, [ctypes.c_char_p]
        x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x11.XFlush.argtypes = [ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._dpy = x11.XOpenDisplay(display.encode())
        if not self._dpy:
            raise RuntimeError(f"cannot open X display {display}")
        self._root = x11.XDefaultRootWindow(self._dpy)
        tst = self._xtst = ctypes.CDLL("libXtst.so.6")
        tst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        tst.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        tst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                             ctypes.c_ulong]

    def grab(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        image = self._x11.XGetImage(self._dpy, self._root, x, y, w, h, ALL_PLANES, ZPIXMAP)
        if not image:
            raise RuntimeError("XGetImage failed")
        try:
            info = image.contents
            raw = ctypes.string_at(info.data, info.bytes_per_line * h)
            pixels = np.frombuffer(raw, np.uint8).reshape(h, info.bytes_per_line // 4, 4)[:, :w, 2::-1]
            return pixels.copy()  # BGRX -> RGB
        finally:
            self._x11.XDestroyImage(image)

    def key(self, name: str) -> float:
        """Press and release a key (X keysym name, e.g. "Return"); returns the monotonic time of the press."""
        code = self._x11.XKeysymToKeycode(self._dpy, self._x11.XStringToKeysym(name.encode()))
        self._xtst.XTestFakeKeyEvent(self._dpy, code, 1, 0)
        self._x11.XFlush(self._dpy)
        t = time.monotonic()
        self._xtst.XTestFakeKeyEvent(self._dpy, code, 0, 0)
        self._x11.XFlush(self._dpy)
        return t

    def chord(self, *names: str) -> float:
        """Press keys in order and release them in reverse (e.g. "Control_L", "Alt_L", "2"); the press time."""
        codes = [self._x11.XKeysymToKeycode(self._dpy, self._x11.XStringToKeysym(n.encode())) for n in names]
        for code in codes:
            self._xtst.XTestFakeKeyEvent(self._dpy, code, 1, 0)
        self._x11.XFlush(self._dpy)
        t = time.monotonic()
        for code in reversed(codes):
            self._xtst.XTestFakeKeyEvent(self._dpy, code, 0, 0)
        self._x11.XFlush(self._dpy)
        return t

    def click(self, x: int, y: int) -> None:
        self._xtst.XTestFakeMotionEvent(self._dpy, -1, x, y, 0)
        for press in (1, 0):
            self._xtst.XTestFakeButtonEvent(self._dpy, 1, press, 0)
        self._x11.XFlush(self._dpy)

    def close(self) -> None:
        if self._dpy:
            self._x11.XCloseDisplay(self._dpy)
            self._dpy = None


def thumb(pixels: np.ndarray, step: int = 4) -> np.ndarray:
    """A small grey version of a grab, for comparing screen states."""
    return pixels[::step, ::step].astype(np.float32).mean(axis=2)


def first_match(samples: list[tuple[float, np.ndarray]], final: np.ndarray, tol: float = 3.0) -> Optional[float]:
    """Time of the first sample from which the screen stayed within ``tol`` grey levels of ``final``."""
    found = None
    for t, shot in samples:
        if float(np.abs(shot - final).mean()) <= tol:
            found = t if found is None else found
        else:
            found = None
    return found
