"""Decompression bombs and other amplification (issue 15, item 2): refused at import, bounded memory.

Each shape (tests/fuzz/bombs.py) is imported into a fresh cache and shown, in a child process
whose peak RSS must stay under 300 MiB (a 512 MiB bomb used to peak at 1.08 GiB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from app.dicom.deflate import HEADROOM, MAX_INFLATED_BYTES, InflationError, check_deflated, inflated_size
from app.store import Cache
from tests.conftest import REPO
from tests.fuzz.bombs import SHAPES

PEAK_LIMIT_MIB = 300


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_bomb_is_rejected_within_memory(shape: str, tmp_path: Path) -> None:
    path = SHAPES[shape](tmp_path / f"{shape}.dcm")
    assert path.stat().st_size < 2 * 1024**2  # small on disk: the amplification is the point
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    run = subprocess.run([sys.executable, "-m", "tests.fuzz.bomb_child", str(path)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "rejected" and result["reason"], result
    assert result["render"].startswith("DecodeError: "), result  # `telerad show FILE` refuses it too
    assert result["peak_mib"] < PEAK_LIMIT_MIB, result


def test_bomb_reasons_name_the_problem(tmp_path: Path) -> None:
    cache = Cache.open(tmp_path / "cache")
    try:
        reasons = {name: cache.store_file(make(tmp_path / f"{name}.dcm")).reason for name, make in SHAPES.items()}
    finally:
        cache.close()
    assert "decompression bomb" in reasons["consistent"] and "decompression bomb" in reasons["trailing"]
    assert "corrupt deflated data set" in reasons["corrupt_stream"]
    assert "implausible" in reasons["forged_encapsulated"]
    assert "past the end of the data" in reasons["huge_length"]


def test_inflation_cap_follows_the_declared_size() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = packer.compress(bytes(3 * 1024**2)) + packer.flush()
    assert inflated_size(stream, 4 * 1024**2) == 3 * 1024**2
    with pytest.raises(InflationError, match="decompression bomb"):
        inflated_size(stream, 2 * 1024**2)
    with pytest.raises(InflationError, match="corrupt"):
        inflated_size(b"\xff" * 64, 1024)
    assert HEADROOM < MAX_INFLATED_BYTES <= 64 * 1024**2
    small = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert check_deflated(small.compress(b"\x08\x00\x60\x00CS\x02\x00OT") + small.flush()) == 10


def test_real_deflated_file_still_imports_and_renders(shared_data: Path, tmp_path: Path) -> None:
    from app.dicom.render import render_png

    source = shared_data / "compressed" / "pydicom" / "image_dfl.dcm"
    cache = Cache.open(tmp_path / "cache")
    try:
        result = cache.store_file(source)
        assert result.status == "imported", result.reason
        render_png(cache.get_instance(result.sop_instance_uid).path, tmp_path / "out.png")
    finally:
        cache.close()
    assert (tmp_path / "out.png").stat().st_size > 0
