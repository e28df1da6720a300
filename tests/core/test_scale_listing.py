"""The study listing at scale (issue 13, goal 3): ``telerad studies --json`` streams the documented form from
one query, and a refresh that reuses what did not change gives the entries a fresh build gives."""

from __future__ import annotations

import io
import json
from pathlib import Path

from app.cli.cmd_studies import study_dict, write_json
from app.store import Cache
from app.worklist import Worklist, WorklistDB
from tests.core._store_factory import make_file


def _cache(tmp_path: Path) -> Cache:
    cache = Cache.open(tmp_path / "cache")
    for i, name in enumerate(("Müller^Jörg", "Smith^Anna", "Smith^Anna")):
        study = f"2.25.{100 + i}"
        for k in range(i + 1):
            cache.store_bytes(make_file(study_uid=study, series_uid=f"{study}.1", sop_uid=f"{study}.1.{k}",
                                        patient_id=f"P{i % 2}", patient_name=name, instance_number=k + 1))
    return cache


def test_studies_json_streams_the_documented_form(tmp_path: Path) -> None:
    with _cache(tmp_path) as cache:
        assert cache.mark_study_incomplete("2.25.101", 5, "retrieve ended short")  # flags, reason, expected
        summaries = cache.list_studies()
        rows = cache.study_rows()
        texts = cache.study_json()  # built by SQLite's JSON functions: the same objects, same key order
    assert texts is not None
    assert [json.loads(t) for t in texts] == [study_dict(s) for s in summaries]
    assert [list(json.loads(t)) for t in texts] == [list(study_dict(s)) for s in summaries]
    assert any(json.loads(t)["flags"] == ["incomplete"] for t in texts)
    out = io.StringIO()
    write_json(rows, out)
    parsed = json.loads(out.getvalue())
    assert parsed == [study_dict(s) for s in summaries]
    assert [list(d) for d in parsed] == [list(study_dict(s)) for s in summaries]  # same key order
    assert {d["patient_name"] for d in parsed} == {"Müller^Jörg", "Smith^Anna"}  # not \\u-escaped either
    assert "Müller" in out.getvalue() and sorted(d["instances"] for d in parsed) == [1, 2, 3]
    empty = io.StringIO()
    write_json([], empty)
    assert json.loads(empty.getvalue()) == []


def test_refresh_reuses_only_what_did_not_change(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    wl = Worklist.open(tmp_path / "home")
    first = wl.refresh(cache)
    again = wl.refresh(cache)
    assert again == first and all(a is b for a, b in zip(again, first))  # nothing changed: same entries
    cache.store_bytes(make_file(study_uid="2.25.200", series_uid="2.25.200.1", sop_uid="2.25.200.1.0",
                                patient_id="P1", patient_name="Smith^Anna"))
    other = WorklistDB.open(tmp_path / "home" / "worklist.sqlite")  # another process changes a state row
    seen = {"status": "unread", "arrival": cache.get_study("2.25.100").received}  # the row it was seen with
    other.put_state("2.25.100", seen, claimed_by="dr-other")
    other.close()
    changed = wl.refresh(cache)
    fresh = Worklist.open(tmp_path / "home")  # a build from scratch of the same data
    assert changed == fresh.refresh(cache)
    by_uid = {e.study_instance_uid: e for e in changed}
    assert "2.25.200" in by_uid and by_uid["2.25.100"].claimed_by == "dr-other"
    assert "2.25.200" in by_uid["2.25.101"].priors  # priors recomputed for the new study's patient
    assert cache.delete_study("2.25.102")
    after = wl.refresh(cache)
    assert "2.25.102" not in {e.study_instance_uid for e in after}
    rebuilt = Worklist.open(tmp_path / "home")  # the patient's priors lost the deleted study too
    assert after == rebuilt.refresh(cache)
    rebuilt.close()
    fresh.close()
    wl.close()
    cache.close()


def test_incremental_listing_equals_a_full_listing(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    for i in range(3, 12):  # enough unchanged studies that a change re-reads only its own rows
        cache.store_bytes(make_file(study_uid=f"2.25.{100 + i}", sop_uid=f"2.25.{100 + i}.9", patient_id=f"Q{i}"))
    listing = cache.study_listing()
    assert listing.studies == cache.list_studies() and cache.study_listing(listing) is listing
    steps = (lambda: cache.mark_study_incomplete("2.25.101", 9, "retrieve ended short"),
             lambda: cache.store_bytes(make_file(study_uid="2.25.102", series_uid="2.25.102.1",
                                                 sop_uid="2.25.102.1.7", patient_id="P0",
                                                 patient_name="Smith^Anna")),  # one more instance
             lambda: cache.clear_study_incomplete("2.25.101"),
             lambda: cache.delete_study("2.25.100"))
    for step in steps:
        step()
        before = listing
        listing = cache.study_listing(listing)
        assert listing is not before and listing.studies == cache.list_studies()
        unchanged = [s for s in listing.studies if s in before.studies]
        assert any(s is b for s in unchanged for b in before.studies)  # the others were not re-read
    cache.close()
