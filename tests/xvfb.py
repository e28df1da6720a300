"""A private Xvfb for GUI tests and benchmarks: started on a free display, tied to this process
with PR_SET_PDEATHSIG (it outlives every VTK X connection and dies when the process exits)."""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import socket
import subprocess
import time


class XvfbError(RuntimeError):
    """No private X server could be started."""


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


def start_xvfb() -> str:
    """Start a private Xvfb and return its DISPLAY (":N")."""
    if shutil.which("Xvfb") is None:
        raise XvfbError("Xvfb is missing: install Debian package xvfb (make test does it as root)")
    for _attempt in range(3):
        proc, display = _launch_xvfb()
        if display and _answers(display):
            return f":{display}"
        proc.kill()
    raise XvfbError("could not start a private Xvfb")


def _launch_xvfb() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1200x24", "-nolisten", "tcp", "-noreset"],
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


def ensure_display() -> None:
    """Use the current X display, or start a private Xvfb; select Qt's xcb platform."""
    if not os.environ.get("DISPLAY"):
        os.environ["DISPLAY"] = start_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
