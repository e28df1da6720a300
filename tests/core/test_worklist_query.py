"""Filters and sorting over 10,000 entries (their speed is measured in bench/worklist.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.worklist import TO_READ, Worklist, WorklistFilter, facets, filter_entries, sort_entries
from tests.core.test_worklist_support import T0, FakeCache, FakeClock, study

MODS = ("CT", "MR", "CR", "US", "MG", "DX")
PARTS = ("HEAD", "CHEST", "ABDOMEN", "KNEE", "BREAST", "")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> list:
    studies = [study(f"1.2.{i}", patient_id=f"P{i % 4000}", modalities=(MODS[i % 6],), body_part=PARTS[i % 6],
                     institution=f"SITE{i % 7}", study_date=f"2025{1 + i % 12:02d}{1 + i % 28:02d}",
                     description=f"{MODS[i % 6]} {PARTS[i % 6] or 'thyroid'} #{i}",
                     received=T0 - timedelta(minutes=i % 3000))
               for i in range(10_000)]
    wl = Worklist.open(tmp_path_factory.mktemp("big"), clock=FakeClock())
    entries = wl.refresh(FakeCache(studies))
    wl.close()
    return entries


def test_filters(big: list) -> None:
    f = WorklistFilter(modality="MR", site="SITE3")
    got = filter_entries(big, f)
    assert got and all("MR" in e.modalities and e.site == "SITE3" for e in got)
    assert len(got) == sum(1 for e in big if "MR" in e.modalities and e.site == "SITE3")
    dated = filter_entries(big, WorklistFilter(date_from="20250301", date_to="20250331"))
    assert dated and all(e.study_date.startswith("202503") for e in dated)
    found = {e.study_instance_uid for e in filter_entries(big, WorklistFilter(text="ct head #6"))}
    assert "1.2.6" in found and "1.2.7" not in found and all(u.startswith("1.2.6") for u in found)
    assert len(filter_entries(big, WorklistFilter(status=TO_READ))) == 10_000
    assert filter_entries(big, WorklistFilter(status="final")) == []
    subs = facets(big)
    assert {"neuro", "chest", "breast"} <= set(subs["subspecialty"]) and len(subs["site"]) == 7
    assert filter_entries(big, WorklistFilter(subspecialty="breast"))


def test_sorting(big: list) -> None:
    by_due = sort_entries(big, "due")
    assert all(a.due <= b.due for a, b in zip(by_due, by_due[1:]))
    by_patient = sort_entries(big, "patient_id", descending=True)
    assert by_patient[0].patient_id >= by_patient[-1].patient_id
    assert sort_entries(big, "reading") == sorted(big, key=lambda e: e.reading_key())
