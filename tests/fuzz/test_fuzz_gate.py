"""Mutation-fuzz gate (issue 15, item 3): seeded mutations of real files never crash import or display.

Each case is a real shared file mutated (tests/fuzz/mutate.py), imported into a temporary
cache, rendered to PNG and shown by the viewer model (tests/fuzz/runner.py): it renders or
raises the one-line DecodeError, nothing else. Deterministic: case N is always the same bytes.
Runs in the core mode (``-p no:pytest-qt -p tests.block_gui``): ``make test-fuzz``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fuzz.campaign import SEEDS, run
from tests.fuzz.mutate import mutate

CASES = 1500
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns on every odd value


def test_mutations_are_deterministic(shared_data: Path) -> None:
    seed = (shared_data / SEEDS[0]).read_bytes()
    first = [mutate(seed, random.Random(n), f"2.25.{n}") for n in range(20)]
    again = [mutate(seed, random.Random(n), f"2.25.{n}") for n in range(20)]
    assert first == again
    assert len({data for data, _labels in first}) == 20  # and they differ from each other


def test_fuzz_gate(shared_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RUST_BACKTRACE", "0")  # a panicking native decoder prints one line, not a backtrace
    report = run(shared_data, CASES)
    with capsys.disabled():
        print(f"\nfuzz gate: {report.cases} cases in {report.seconds:.1f} s, {len(report.crashes)} crashes: "
              f"{dict(sorted(report.counts.items()))}")
    details = "\n".join(f"case {case} ({seed}) {labels}:\n{tb}" for seed, case, labels, tb in report.crashes[:5])
    assert not report.crashes, f"{len(report.crashes)} crashes; replay with tests.fuzz.campaign:\n{details}"
    count = lambda prefix: sum(n for key, n in report.counts.items() if key.startswith(prefix))  # noqa: E731
    assert count("imported/") > CASES // 5 and count("rejected/") > CASES // 5  # both paths exercised
    assert count("imported/rendered") > CASES // 10 and count("imported/decode error") > CASES // 10


def test_missing_seed_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run(tmp_path, 1)  # no shared data: the gate fails, it never skips
