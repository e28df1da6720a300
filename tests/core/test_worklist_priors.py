"""Priors ranking on the two shared CT studies of patient PLASTIC, request fields read from the header,
and the CLI on the same data."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.worklist import Priority, Worklist
from app.worklist.priors import patient_key, rank_priors
from tests.core.test_worklist_support import study


@pytest.fixture(scope="module")
def plastic_home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A data folder whose cache holds both PLASTIC CT studies (the 1 mm one and the tilted one)."""
    from app.importer import import_paths
    from app.store import Cache

    home = tmp_path_factory.mktemp("plastic")
    with Cache.open(home / "cache") as cache:
        import_paths(cache, [shared_data / "ct" / "philips_phantom_study1_1mm",
                             shared_data / "ct" / "philips_phantom_study2_tilted"])
    return home


@pytest.fixture
def plastic(plastic_home: Path):  # type: ignore[no-untyped-def]
    from app.store import Cache

    with Cache.open(plastic_home / "cache") as cache:
        yield plastic_home, cache


def test_priors_of_the_two_plastic_studies(plastic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, cache = plastic
    studies = {s.study_time: s for s in cache.list_studies()}
    assert len(studies) == 2
    early, late = (studies[t] for t in sorted(studies))  # same day: 09:28 (1 mm) and 09:34 (tilted)
    assert early.patient_id == late.patient_id == "PLASTIC"
    wl = Worklist.open(tmp_path)
    wl.refresh(cache)
    assert wl.entry(late.study_instance_uid).priors == (early.study_instance_uid,)
    assert wl.entry(early.study_instance_uid).priors == (late.study_instance_uid,)
    entry = wl.entry(late.study_instance_uid)
    assert entry.subspecialty == "neuro" and entry.site == "QMC" and entry.local
    assert entry.priority is Priority.ROUTINE and entry.priority_source == "default"
    # the request fields come from the study index: no header read, no copy kept in the worklist database
    assert late.study_instance_uid not in wl.db.request_fields()
    wl.close()


def test_ranking_same_modality_and_body_part_first_then_recency(plastic) -> None:  # type: ignore[no-untyped-def]
    _, cache = plastic
    early, late = sorted(cache.list_studies(), key=lambda s: s.study_time)
    other_part = replace(early, study_instance_uid="cr-chest", modalities=("CR",), body_part="CHEST",
                         study_date="20150207")
    older_ct = replace(early, study_instance_uid="ct-2014", study_date="20140101")
    newer_same_part_mr = replace(early, study_instance_uid="mr-brain", modalities=("MR",), study_date="20150205")
    other_issuer = replace(early, study_instance_uid="other-patient", issuer_of_patient_id="ELSEWHERE")
    ranked = rank_priors(late, [early, late, other_part, older_ct, newer_same_part_mr, other_issuer])
    assert [p.study_instance_uid for p in ranked] == [
        early.study_instance_uid, "ct-2014", "mr-brain", "cr-chest"]
    assert patient_key(late) == ("PLASTIC", "site:QMC")


def test_priors_never_cross_patients_or_id_domains() -> None:
    a = study("a", patient_id="X", issuer_of_patient_id="H1")
    b = study("b", patient_id="X", issuer_of_patient_id="H2")
    c = study("c", patient_id="X", issuer_of_patient_id="H1", study_date="20240101")
    d = study("d", patient_id="", issuer_of_patient_id="H1")
    assert [p.study_instance_uid for p in rank_priors(a, [a, b, c, d])] == ["c"]
    assert rank_priors(d, [a, b, c, d]) == []


def test_cli_worklist_json(plastic_home: Path) -> None:
    home = plastic_home
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), "worklist", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 2
    for row in rows:
        assert {"study_instance_uid", "priority", "status", "subspecialty", "received", "due",
                "priors"} <= set(row)
        assert row["priority"] == "routine" and row["status"] == "unread" and len(row["priors"]) == 1
    assert rows[0]["due"] <= rows[1]["due"]  # reading order
    text = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(home), "worklist"],
                          capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "PRIORITY" in text.stdout and "neuro" in text.stdout


def test_incremental_priors_equal_a_full_ranking() -> None:
    """With the memo, a later call re-ranks only the patients whose studies changed, arrived or left; every
    step equals a ranking from scratch (three patients, several studies each, one with no patient ID)."""
    from app.worklist.priors import priors_index

    studies = [study(f"1.{i}", patient_id=f"P{i % 3}" if i % 7 else "", study_date=f"2025{1 + i % 9:02d}01",
                     modalities=(("CT",), ("MR",))[i % 2]) for i in range(20)]
    memo: dict = {}
    steps = [
        lambda s: s,  # nothing changed
        lambda s: [*s, study("1.new", patient_id="P1", study_date="20251201")],  # a new study of P1
        lambda s: [x for x in s if x.study_instance_uid != "1.4"],  # one of P1 gone
        lambda s: [replace(x, patient_id="P2") if x.study_instance_uid == "1.5" else x for x in s],  # moved
        lambda s: [replace(x, body_part="CHEST") if x.study_instance_uid == "1.8" else x for x in s],
    ]
    current = studies
    for step in steps:
        current = step(current)
        assert priors_index(current, memo) == priors_index(current)
    assert priors_index(current, memo)["1.new"]  # P1's new study has priors
