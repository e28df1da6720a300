"""The cold start's first page (issue 13): ``Worklist.first_page`` equals the first entries of a full
``refresh`` (same order, same entries) for never-seen studies, recorded state, overrides, finished studies,
rules and report marks; and it writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from app.store import Cache
from app.worklist import Priority, ReportMark, Rule, Worklist
from bench.scale import generate  # index rows shaped exactly like the store's (bulk SQL, no files)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    generate(tmp_path / "cache", 300)
    c = Cache.open(tmp_path / "cache")
    yield c
    c.close()


def _state_rows(wl: Worklist) -> int:
    return wl.db.db.execute("SELECT COUNT(*) FROM state").fetchone()[0]


def test_first_page_of_never_seen_studies_equals_the_refresh(tmp_path: Path, cache: Cache) -> None:
    wl = Worklist.open(tmp_path / "wl")
    wl.set_priority_rules([Rule("STAT", description=r"\bHEAD\b"), Rule("urgent", sites=("SITE1",))])
    page = wl.first_page(cache, 50)
    assert _state_rows(wl) == 0  # nothing recorded: the refresh records first sight
    full = wl.refresh(cache)
    assert len(page) == 50 and page == full[:50]
    assert {e.priority for e in page} == {Priority.STAT}  # the rules decided the page


def test_first_page_follows_recorded_state_and_reports(tmp_path: Path, cache: Cache) -> None:
    reports = {"2.25.1000007": ReportMark(status="final", signed_at="2026-01-01T00:00:00+00:00")}
    wl = Worklist.open(tmp_path / "wl", marks=lambda uids: {u: m for u, m in reports.items()
                                                            if uids is None or u in uids})
    full = wl.refresh(cache)
    assert not full[-1].to_read  # the reported study is last
    last = [e for e in full if e.to_read][-1]
    wl.set_priority(last.study_instance_uid, "STAT", "dr")  # the last one to read joins the STAT block
    wl.mark_read(full[0].study_instance_uid, "dr")  # the first one drops to the end
    wl.set_reference(full[1].study_instance_uid)
    wl.start_reading(full[2].study_instance_uid, "dr")
    again = Worklist.open(tmp_path / "wl", marks=wl.marks)  # a new process: nothing in memory
    for limit in (1, 7, 300, 1000):
        assert again.first_page(cache, limit) == again.refresh(cache)[:limit]
    stat = [e for e in again.first_page(cache, 300) if e.to_read and e.priority is Priority.STAT]
    assert last.study_instance_uid in {e.study_instance_uid for e in stat}  # raised into the STAT block
