"""Subspecialty and site priority rules, and priority taken from request fields in the DICOM header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.worklist import DEFAULT_SUBSPECIALTY_RULES, Facts, Priority, Rule, Worklist
from app.worklist.build import subspecialty
from app.worklist.header import RequestFields, age_from_header, header_priority
from app.worklist.rules import rules_from_json, rules_to_json
from tests.core.test_worklist_support import FakeCache, FakeClock, study


def facts(**kw: object) -> Facts:
    base = dict(modalities=("CT",), body_part="", description="", department="", referring="", site="S",
                age_years=50.0)
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kw", "expected"), [
    (dict(body_part="HEAD", description="CT HEAD"), "neuro"),
    (dict(body_part="HEAD", age_years=3.0), "paediatric"),         # age wins over body part
    (dict(body_part="", age_years=None, description="CT BRAIN w/o"), "neuro"),
    (dict(modalities=("MG",), description="screening"), "breast"),
    (dict(modalities=("CR",), body_part="CHEST"), "chest"),
    (dict(description="CTPA for PE"), "chest"),
    (dict(modalities=("CT",), description="CT coronary angiogram"), "cardiac"),
    (dict(body_part="ABDOMEN", description="CT abdo/pelvis"), "abdominal"),
    (dict(modalities=("DX",), body_part="KNEE"), "MSK"),
    (dict(modalities=("US",), description="thyroid"), "general"),
])
def test_default_subspecialty_rules(kw: dict, expected: str) -> None:
    assert subspecialty(facts(**kw), DEFAULT_SUBSPECIALTY_RULES) == expected


def test_rule_conditions() -> None:
    r = Rule("neuro", modalities=("MR",), body_parts=("brain",), description=r"stroke", min_age=18, max_age=65)
    assert r.matches(facts(modalities=("MR", "SR"), body_part="BRAIN", description="Stroke protocol"))
    assert not r.matches(facts(modalities=("CT",), body_part="BRAIN", description="stroke"))
    assert not r.matches(facts(modalities=("MR",), body_part="BRAIN", description="stroke", age_years=65.0))
    assert not r.matches(facts(modalities=("MR",), body_part="BRAIN", description="stroke", age_years=None))
    site = Rule("STAT", sites=("NORTH",), department="^ED$")
    assert site.matches(facts(site="north", department="ED"))
    assert not site.matches(facts(site="SOUTH", department="ED"))
    assert rules_from_json(rules_to_json([r, site])) == (r, site)
    with pytest.raises(ValueError):
        Rule.from_json({"result": "x", "colour": "red"})
    with pytest.raises(re.error):
        Rule.from_json({"result": "x", "description": "(unclosed"})


def test_editable_rules_persist_and_recompute(tmp_path: Path) -> None:
    cache = FakeCache([study("knee", modalities=("MR",), body_part="KNEE", description="MR knee"),
                       study("us", modalities=("US",), body_part="", description="US renal")])
    wl = Worklist.open(tmp_path, clock=FakeClock())
    wl.refresh(cache)
    assert wl.entry("knee").subspecialty == "MSK" and wl.entry("us").subspecialty == "abdominal"
    wl.set_subspecialty_rules([Rule("sports", modalities=("MR",), body_parts=("KNEE",)),
                               *DEFAULT_SUBSPECIALTY_RULES])
    wl.set_priority_rules([Rule("urgent", description="renal")])
    assert wl.entry("knee").subspecialty == "sports"
    assert wl.entry("us").priority is Priority.URGENT and wl.entry("us").priority_source == "rule"
    wl.close()
    again = Worklist.open(tmp_path, clock=FakeClock())
    again.refresh(cache)
    assert again.entry("knee").subspecialty == "sports" and again.entry("us").priority is Priority.URGENT
    again.close()


def test_header_priority_mapping() -> None:
    assert header_priority(RequestFields(requested_procedure_priority="STAT")) is Priority.STAT
    assert header_priority(RequestFields(requested_procedure_priority="HIGH")) is Priority.URGENT
    assert header_priority(RequestFields(study_priority_id="HIGH", requested_procedure_priority="ROUTINE")) \
        is Priority.URGENT
    assert header_priority(RequestFields(requested_procedure_priority="LOW")) is Priority.ROUTINE
    assert header_priority(RequestFields()) is None
    assert age_from_header("006M") == pytest.approx(0.5) and age_from_header("045Y") == 45
    assert age_from_header("000Y") is None and age_from_header("") is None


def test_priority_and_age_read_from_the_stored_header(tmp_path: Path) -> None:
    from pydicom.dataset import Dataset

    from app.store import Cache
    from tests.core._store_factory import make_dataset, to_bytes

    stat = make_dataset(patient_id="H1")
    stat.RequestedProcedurePriority = "STAT"
    stat.PatientAge = "004Y"
    urgent = make_dataset(patient_id="H2")
    item = Dataset()
    item.RequestingService = "Emergency Department"
    urgent.RequestAttributesSequence = [item]
    plain = make_dataset(patient_id="H3")
    plain.StudyPriorityID = "LOW"
    with Cache.open(tmp_path / "cache") as cache:
        for ds in (stat, urgent, plain):
            assert cache.store_bytes(to_bytes(ds)).status == "imported"
        wl = Worklist.open(tmp_path)
        wl.refresh(cache)
        e_stat, e_urgent, e_plain = (wl.entry(ds.StudyInstanceUID) for ds in (stat, urgent, plain))
        assert (e_stat.priority, e_stat.priority_source) == (Priority.STAT, "header")
        assert e_stat.subspecialty == "paediatric" and e_stat.age_years == 4
        # the default site rule: emergency department requests are urgent
        assert (e_urgent.priority, e_urgent.priority_source) == (Priority.URGENT, "rule")
        assert e_urgent.department == "Emergency Department"
        assert (e_plain.priority, e_plain.priority_source) == (Priority.ROUTINE, "header")
        assert [e.study_instance_uid for e in wl.entries()][0] == stat.StudyInstanceUID
        wl.close()
