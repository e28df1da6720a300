"""Strip the bundle's ELF files that are safe to strip (``strip --strip-unneeded``).

Skipped, because auditwheel rewrote them with patchelf and strip can corrupt such files (it
broke numpy's OpenBLAS): everything under ``numpy/``, every file in a ``*.libs/`` folder
(wheel-vendored libraries) and every file whose RPATH/RUNPATH points into one (the extension
modules auditwheel patched, e.g. PIL/_imaging, imagecodecs/_jpeg8). The executables beside
``_internal/`` are never touched (the PyInstaller archive is appended to them).
Stripped: VTK's libraries, libpython and lib-dynload, the system libraries PyInstaller
collected, Qt/ICU, cryptography, lxml, aiohttp... (about 19 MB outside VTK, measured).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

RPATH = re.compile(r"\((?:RPATH|RUNPATH)\)\s+Library (?:rpath|runpath): \[([^\]]*)\]")
ELF_MAGIC = b"\x7fELF"


def is_elf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == ELF_MAGIC


def patched_by_auditwheel(path: Path, internal: Path) -> bool:
    """True for files a wheel repair tool (patchelf) has rewritten: leave those alone."""
    rel = path.relative_to(internal).parts
    if rel[0] == "numpy" or any(part.endswith(".libs") for part in rel[:-1]):
        return True
    out = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True).stdout
    return any(".libs" in rpath for rpath in RPATH.findall(out))


def strippable(internal: Path) -> list[Path]:
    """The regular ELF files under ``internal`` (the bundle's ``_internal``) that may be stripped."""
    files = [p for p in sorted(internal.rglob("*")) if p.is_file() and not p.is_symlink() and is_elf(p)]
    return [p for p in files if not patched_by_auditwheel(p, internal)]


def strip_bundle(internal: Path) -> tuple[int, int]:
    """Strip the safe files in place; (number of files, bytes saved)."""
    files = strippable(internal)
    before = sum(p.stat().st_size for p in files)
    for i in range(0, len(files), 100):
        subprocess.run(["strip", "--strip-unneeded", *map(str, files[i:i + 100])], check=True)
    return len(files), before - sum(p.stat().st_size for p in files)
