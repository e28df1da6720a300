"""Child process of the bomb test: import one file into a fresh cache, render it; print JSON + peak RSS.

``python -m tests.fuzz.bomb_child FILE``; the result line is ``{"status", "reason", "render", "peak_mib"}``.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
from pathlib import Path


def main(path: Path) -> dict:
    from app.dicom.codecs import DecodeError
    from app.dicom.render import render_png
    from app.store import Cache

    with tempfile.TemporaryDirectory() as folder:
        cache = Cache.open(Path(folder) / "cache")
        try:
            result = cache.store_file(path)
        finally:
            cache.close()
        try:
            render_png(path, Path(folder) / "out.png")
            render = "rendered"
        except DecodeError as exc:
            render = f"DecodeError: {exc.reason}"
    return {"status": result.status, "reason": result.reason, "render": render, "peak_mib": peak_mib()}


def peak_mib() -> float:
    """This process's own peak RSS. ``VmHWM`` of the exec'd image: ``ru_maxrss`` would also count the
    parent's RSS at spawn time (Linux carries it over exec), so a big pytest parent would look like a bomb."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
