"""The window warns early when the disk holding the data dir runs low (issue 15, item 4), on a real
24 MiB tmpfs filled step by step (mounting needs root, as in CI: the test fails without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import small_tmpfs
from tests.gui.conftest import main_window



def _fill_to(mount: Path, leave: int) -> None:
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    st = os.statvfs(mount)
                    if st.f_bavail * st.f_frsize - size < leave or not os.write(fd, b"\0" * size):
                        break
            except OSError:
                pass
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    with small_tmpfs(tmp_path / "mnt") as mount:
        yield mount


def test_status_bar_warns_when_space_runs_low(qtbot, small_disk: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    with main_window(qtbot, small_disk / "home") as win:
        warning = win.disk_warning
        assert not warning.isVisible()  # an empty 24 MiB disk is fine
        _fill_to(small_disk, 800 * 1024)  # under 5 % of 24 MiB
        warning.refresh()
        assert warning.isVisible() and warning.text().startswith("Disk space low"), warning.text()
        _fill_to(small_disk, 0)
        warning.refresh()
        assert warning.isVisible() and warning.text().startswith("Disk full"), warning.text()
        win.grab().save(str(artifacts / "disk_full_warning.png"))
        (small_disk / "filler").unlink()
        warning.refresh()
        assert not warning.isVisible()
