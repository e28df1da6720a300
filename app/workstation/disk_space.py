"""Free space where the data dir lives, and whether it is running low (Qt-free; the window polls it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LOW_BYTES = 2 * 1024**3  # warn below 2 GiB free ...
LOW_FRACTION = 0.05  # ... or below 5 % of the file system, whichever is smaller
FULL_BYTES = 64 * 1024**2  # below this (or 1 % of the file system, if smaller) nothing can be stored reliably
FULL_FRACTION = 0.01


@dataclass(frozen=True)
class DiskSpace:
    """Free and total bytes of the file system holding ``path`` (``free`` as usable by us)."""

    path: Path
    free: int
    total: int

    @property
    def low(self) -> bool:
        return self.free < min(LOW_BYTES, int(self.total * LOW_FRACTION)) or self.full

    @property
    def full(self) -> bool:
        return self.free < min(FULL_BYTES, int(self.total * FULL_FRACTION))

    def message(self) -> str:
        """One line for the user ("" when space is fine)."""
        if not self.low:
            return ""
        what = "Disk full" if self.full else "Disk space low"
        return (f"{what}: {_size(self.free)} free of {_size(self.total)} for {self.path} - "
                "free some space; new studies and reports may not be stored")


def disk_space(path: Path) -> DiskSpace:
    """The space of the nearest existing folder at or above ``path``."""
    probe = Path(path)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    st = os.statvfs(probe)
    return DiskSpace(Path(path), st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"
