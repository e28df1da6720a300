"""Fixtures shared by every test: the location of the shared real DICOM data."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# Data folders without an account stay plaintext in tests (app.workstation.atrest); the encryption tests
# create accounts or clear this, and every subprocess a test starts inherits it.
os.environ["TELERAD_PLAINTEXT"] = "1"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real DICOM data folder; a missing folder is a failure, never a skip."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.fail(f"shared test data not found at {SHARED_DATA} (expected ../shared/data beside the repo)")
    return SHARED_DATA


@contextmanager
def small_tmpfs(mount: Path, size: str = "24m") -> Iterator[Path]:
    """A real, small file system at ``mount`` (tmpfs; needs root: a failure, never a skip, without it)."""
    mount.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
