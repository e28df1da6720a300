"""GUI test set-up: a private Xvfb for the whole run (VTK widgets need a real X server).

Xvfb is started before any QApplication exists and is tied to this process with
PR_SET_PDEATHSIG, so it outlives every VTK X connection and dies when pytest exits.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _answers(display: str, timeout: float = 5.0) -> bool:
    """True once the X server's unix socket accepts a connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(f"/tmp/.X11-unix/X{display}")
                return True
            except OSError:
                time.sleep(0.05)
    return False


def _start_xvfb() -> str:
    if shutil.which("Xvfb") is None:
        raise pytest.UsageError("Xvfb is missing: install Debian package xvfb (make test does it as root)")
    for _attempt in range(3):
        proc, display = _launch_xvfb()
        if display and _answers(display):
            return f":{display}"
        proc.kill()
    raise pytest.UsageError("could not start a private Xvfb")


def _launch_xvfb() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    os.close(write_fd)
    display = b""
    deadline = time.monotonic() + 15
    while not display.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(read_fd, 64) if ready else b""
        if not chunk:
            break
        display += chunk
    os.close(read_fd)
    return proc, display.decode().strip()


def pytest_configure(config: pytest.Config) -> None:
    os.environ["DISPLAY"] = _start_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def artifacts() -> Path:
    """Folder for screenshots the tests save (open them to look at the screens)."""
    return ARTIFACTS


def qimage_to_array(image: "object") -> np.ndarray:
    """A QImage as an (h, w, 4) uint8 array."""
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGBA8888)  # type: ignore[attr-defined]
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width()].copy()


def assert_real_rendering(pixels: np.ndarray, min_colours: int = 20) -> None:
    """Fail on a blank, uniform or garbage-free-but-empty screenshot."""
    assert pixels.size > 0
    assert pixels[..., :3].std() > 5, "screenshot is (nearly) uniform"
    colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours, f"only {len(colours)} distinct colours"
