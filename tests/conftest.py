"""Fixtures shared by every test: the location of the shared real DICOM data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real DICOM data folder; a missing folder is a failure, never a skip."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.fail(f"shared test data not found at {SHARED_DATA} (expected ../shared/data beside the repo)")
    return SHARED_DATA
