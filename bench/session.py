"""What every probe run prints around its figures: load average before and after, the run time, in a
temporary folder; a missing shared-data folder is a FAIL (never a skip)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def data_missing(folder: Path) -> bool:
    """Print a FAIL line and return True when ``folder`` (shared data) is not there."""
    if folder.is_dir():
        return False
    print(f"FAIL  shared data missing: {folder}")
    return True


@contextmanager
def bench_session(prefix: str) -> Iterator[Path]:
    """A temporary folder for one benchmark run, with the machine's load printed before and after."""
    print(f"load average before: {os.getloadavg()}", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
    print(f"load average after: {os.getloadavg()}; run time {time.monotonic() - started:.0f} s", flush=True)


def probe_main(prefix: str, data: Path, body, results: list[bool]) -> int:  # type: ignore[no-untyped-def]
    """A probe's exit status: 1 when ``data`` is missing, else ``body(tmp)`` in a :func:`bench_session`, then
    0 only if every figure passed (``results`` is filled by ``body``)."""
    if data_missing(data):
        return 1
    with bench_session(prefix) as tmp:
        body(tmp)
    return 0 if results and all(results) else 1
