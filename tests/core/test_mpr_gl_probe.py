"""OpenGL probe: real answer on this machine, and clean fallbacks for hung or crashing drivers."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from app.viewer.gl_probe import decide, run_probe


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake_python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_probe_reports_the_real_renderer() -> None:
    caps = run_probe()
    assert caps.ok, caps.message
    assert caps.version_number >= (3, 2) and caps.renderer
    assert caps.volume_rendering
    # this machine has no GPU: Mesa's llvmpipe must be recognised as software
    if "llvmpipe" in caps.renderer:
        assert caps.software and not caps.gpu_volume_rendering and "CPU" in caps.message


def test_hung_driver_times_out_with_a_clear_message(tmp_path: Path) -> None:
    start = time.monotonic()
    caps = run_probe(timeout=1.0, python=_script(tmp_path, "sleep 30"))
    assert time.monotonic() - start < 5
    assert not caps.ok and not caps.volume_rendering
    assert "no answer within 1 s" in caps.message and "MPR" in caps.message


def test_crashing_driver_falls_back(tmp_path: Path) -> None:
    caps = run_probe(python=_script(tmp_path, "echo 'Segmentation fault' >&2; kill -SEGV $$"))
    assert not caps.ok and "OpenGL check failed" in caps.message


def test_old_opengl_turns_volume_rendering_off() -> None:
    caps = decide({"vendor": "X", "renderer": "Old GPU", "version": "2.1 Mesa", "supported": True})
    assert not caps.volume_rendering and "2.1" in caps.message
    gpu = decide({"vendor": "NVIDIA", "renderer": "GeForce", "version": "4.6.0", "supported": True})
    assert gpu.gpu_volume_rendering and not gpu.software
