"""Regression corpus (issue 15, item 3): every crasher found renders or fails with one typed, one-line error.

Named cases are the issue's classes; numbered cases replay fuzz cases (tests/fuzz/campaign.py)
that crashed before the fixes. Each goes through import, render to PNG and the viewer model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.dicom.codecs import DecodeError
from app.dicom.render import render_png
from app.store import Cache
from tests.fuzz.campaign import SEEDS, case_bytes
from tests.fuzz.corpus import FUZZ_CASES, NAMED
from tests.fuzz.runner import run_case

#: What the user reads for the issue's classes (None: it renders).
EXPECTED = {
    "palette_without_lut": "PALETTE COLOR image without its red palette lookup table",
    "palette_descriptor_65535": "red palette holds 512 bytes for 65535 entries",
    "rle_panic": None,  # pylibjpeg-rle panics; pydicom's own RLE decoder takes over
    "unknown_vr_pixel_module": "unreadable image attribute (0028,0004)",
    "unparseable_ds": "could not convert string to float",
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Cache:
    opened = Cache.open(tmp_path_factory.mktemp("crashers") / "cache")
    yield opened
    opened.close()


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_crasher(name: str, shared_data: Path, cache: Cache, tmp_path: Path) -> None:
    uid = f"2.25.31337{sorted(NAMED).index(name)}"
    data = NAMED[name](shared_data, uid)
    outcome = run_case(cache, data, tmp_path, uid)
    assert not outcome.crash, outcome.crash
    assert outcome.stored == "imported"  # these files import fine: the failure is at display
    path = tmp_path / "direct.dcm"
    path.write_bytes(data)
    if EXPECTED[name] is None:
        render_png(path, tmp_path / "out.png")
        assert (tmp_path / "out.png").stat().st_size > 0
        return
    with pytest.raises(DecodeError) as caught:
        render_png(path, tmp_path / "out.png")
    assert EXPECTED[name] in caught.value.reason and "\n" not in caught.value.reason


@pytest.mark.parametrize("case", FUZZ_CASES)
def test_fuzz_crasher_replay(case: int, shared_data: Path, cache: Cache, tmp_path: Path) -> None:
    seeds = {name: (shared_data / name).read_bytes() for name in {SEEDS[case % len(SEEDS)]}}
    _name, data, labels, uid = case_bytes(seeds, case)
    outcome = run_case(cache, data, tmp_path, uid)
    assert not outcome.crash, f"case {case} {labels}:\n{outcome.crash}"
    assert outcome.shown in ("rendered", "decode error")
