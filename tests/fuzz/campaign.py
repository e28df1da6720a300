"""The mutation fuzz campaign: real seed files from the shared data, seeded cases, crash list.

``python -m tests.fuzz.campaign [CASES] [FIRST]`` runs cases FIRST..FIRST+CASES-1 and prints
every crash with its (seed file, case) so it can be replayed and added to the corpus.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.mutate import mutate
from tests.fuzz.runner import Outcome, run_case

#: Small real files covering the codecs and pixel layouts the viewer meets (see shared MANIFEST.md).
SEEDS = [
    "ct/single/CT_small.dcm", "mr/single/MR_small.dcm", "compressed/pydicom/MR_small_RLE.dcm",
    "compressed/pydicom/SC_rgb_rle.dcm", "us/OBXXXX1A.dcm", "us/gdcm-US-ALOKA-16.dcm",
    "compressed/pydicom/SC_rgb_jpeg_dcmtk.dcm", "compressed/pylibjpeg_data/JPEGBaseline_1s_1f_u_08_08.dcm",
    "compressed/pydicom/MR_small_jpeg_ls_lossless.dcm", "compressed/pydicom/MR_small_jp2klossless.dcm",
    "compressed/pydicom/image_dfl.dcm", "compressed/pydicom/MR_small_bigendian.dcm",
    "compressed/pydicom/MR_small_implicit.dcm", "mr/enhanced_small/emri_small.dcm",
    "compressed/pydicom_data/emri_small_RLE.dcm", "cr_dx/dx_image.dcm", "pet_nm/GH184.dcm",
    "compressed/pydicom/JPEGLSNearLossless_08.dcm", "compressed/pydicom/ExplVR_BigEnd.dcm",
    "compressed/pydicom/SC_rgb_small_odd_jpeg.dcm", "seg/seg_image_ct_binary.dcm", "compressed/pydicom_data/SC_rgb.dcm",
]
CASES_PER_CACHE = 250


@dataclass
class Report:
    cases: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    crashes: list[tuple[str, int, list[str], str]] = field(default_factory=list)  # seed, case, labels, traceback


def case_bytes(seeds: dict[str, bytes], case: int) -> tuple[str, bytes, list[str], str]:
    """(seed name, mutated bytes, mutation labels, instance UID) of case number ``case``."""
    name = SEEDS[case % len(SEEDS)]
    uid = f"2.25.4242{case}"
    data, labels = mutate(seeds[name], random.Random(case * 7919 + 1), uid)
    return name, data, labels, uid


def run(shared: Path, cases: int, first: int = 0) -> Report:
    """Run ``cases`` cases; a missing seed file raises (the gate must fail, never skip)."""
    from app.store import Cache

    seeds = {name: (shared / name).read_bytes() for name in SEEDS}
    report = Report()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        cache = None
        for case in range(first, first + cases):
            if (case - first) % CASES_PER_CACHE == 0:
                if cache is not None:
                    cache.close()
                cache = Cache.open(Path(tmp) / f"cache{case}")
            name, data, labels, uid = case_bytes(seeds, case)
            outcome: Outcome = run_case(cache, data, Path(tmp), uid)
            key = f"{outcome.stored}/{outcome.shown}"
            report.counts[key] = report.counts.get(key, 0) + 1
            if outcome.crash:
                report.crashes.append((name, case, labels, outcome.crash))
        if cache is not None:
            cache.close()
    report.cases, report.seconds = cases, time.monotonic() - started
    return report


if __name__ == "__main__":  # pragma: no cover - exploration
    from tests.conftest import SHARED_DATA

    result = run(SHARED_DATA, int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    for seed, case, labels, tb in result.crashes:
        print(f"=== case {case} seed {seed}: {labels}\n{tb.strip().splitlines()[-1]}")
        print("    at", [ln.strip() for ln in tb.splitlines() if ln.strip().startswith("File")][-1])
    print(f"{result.cases} cases in {result.seconds:.1f} s: {result.counts}; {len(result.crashes)} crashes")
