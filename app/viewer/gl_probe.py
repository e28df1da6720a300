"""OpenGL capability probe, run once at start-up in a subprocess with a timeout.

A broken or hanging driver kills (or stalls) only the probe process: the application then
falls back (MPR is painted by Qt and needs no OpenGL; volume rendering is switched off or
run on the CPU ray caster) and tells the user why, instead of freezing or crashing.
This module imports neither VTK nor Qt; the child process imports VTK.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

#: Seconds the probe may take (context creation + one render) before it counts as hung.
PROBE_TIMEOUT = 15.0
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer", "lavapipe", "microsoft basic")

_CHILD = r"""
import json, re, sys
import vtkmodules.vtkRenderingOpenGL2
from vtkmodules.vtkRenderingCore import vtkRenderWindow, vtkRenderer
window = vtkRenderWindow()
window.SetOffScreenRendering(1)
window.SetSize(64, 64)
window.AddRenderer(vtkRenderer())
window.Render()
report = window.ReportCapabilities() or ""
def grab(key):
    m = re.search(r"OpenGL " + key + r" string:\s*(.*)", report)
    return m.group(1).strip() if m else ""
print(json.dumps({"vendor": grab("vendor"), "renderer": grab("renderer"), "version": grab("version"),
                  "supported": bool(window.SupportsOpenGL()), "window": window.GetClassName()}))
window.Finalize()
"""


@dataclass(frozen=True)
class GlCapabilities:
    """What the probe found and which 3D features the application should offer."""

    ok: bool
    vendor: str = ""
    renderer: str = ""
    version: str = ""
    version_number: tuple[int, int] = (0, 0)
    software: bool = False
    volume_rendering: bool = False
    gpu_volume_rendering: bool = False
    message: str = ""
    details: dict = field(default_factory=dict)


def _version_number(text: str) -> tuple[int, int]:
    import re

    m = re.search(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def decide(info: Optional[dict], error: str = "") -> GlCapabilities:
    """Features from the probe's answer (``None``: the probe failed with ``error``)."""
    if info is None:
        return GlCapabilities(False, message=(
            f"3D volume rendering is off: the OpenGL check failed ({error}). MPR, MIP and measurements "
            "still work. Update the graphics driver, or install Mesa (libgl1-mesa-dri) for software rendering."))
    version = _version_number(info.get("version", ""))
    renderer = info.get("renderer", "")
    software = any(name in renderer.lower() for name in SOFTWARE_RENDERERS)
    if not info.get("supported", True) or version < (3, 2):
        return GlCapabilities(False, info.get("vendor", ""), renderer, info.get("version", ""), version, software,
                              message=(f"3D volume rendering is off: OpenGL {version[0]}.{version[1]} found, 3.2 "
                                       "needed. MPR, MIP and measurements still work."), details=info)
    message = ("Software OpenGL renderer: volume rendering uses the CPU ray caster at reduced resolution."
               if software else "")
    return GlCapabilities(True, info.get("vendor", ""), renderer, info.get("version", ""), version, software,
                          volume_rendering=True, gpu_volume_rendering=not software, message=message, details=info)


def run_probe(timeout: float = PROBE_TIMEOUT, python: Optional[str] = None) -> GlCapabilities:
    """Start the probe process and decide; never raises, never waits longer than ``timeout``."""
    try:
        done = subprocess.run([python or sys.executable, "-c", _CHILD], capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ))
    except subprocess.TimeoutExpired:
        return decide(None, f"no answer within {timeout:g} s")
    except OSError as exc:
        return decide(None, str(exc))
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return decide(None, f"exit code {done.returncode}: {tail[:200]}")
    try:
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
        return decide(json.loads(line))
    except (IndexError, ValueError):
        return decide(None, "unreadable answer")


@lru_cache(maxsize=1)
def capabilities() -> GlCapabilities:
    """The probe's result for this process (run once, then cached)."""
    return run_probe()
