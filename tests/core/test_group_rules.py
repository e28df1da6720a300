"""Assignment rules on a real PostgreSQL: a filter's studies go to its readers only, other studies to
everyone allowed; overlapping rules add their readers; credentials still apply; the CLI round trip; the
replaced "next case" keeps its generic plan."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from app.group import (GroupDB, GroupError, UnknownReader, add_reader, handover, list_rules, next_case, publish,
                       remove_rule, set_facility, set_rule)
from app.group.queue import Published
from tests.core.test_group_cli import ok, telerad
from tests.group_pg import group_url, pg_server  # noqa: F401  (fixtures)

NOW = datetime.now(timezone.utc)


def study(uid: str, facility: str = "A", priority: str = "routine", modality: str = "CT", hours: float = 1.0,
          sub: str = "general") -> Published:
    return Published(uid, facility, priority, NOW + timedelta(hours=hours), modality, sub)


@pytest.fixture
def db(group_url: str):  # noqa: F811
    with GroupDB(group_url) as database:
        set_facility(database, "A", "TX")
        set_facility(database, "B", "TX")
        for name in ("ann", "bob", "cat"):
            add_reader(database, name, facilities=["A", "B"], licenses=["TX"], cap=20)
        yield database


def _drain(db: GroupDB, reader: str) -> list[str]:
    got = []
    while (result := next_case(db, reader)).claim is not None:
        got.append(result.claim.study_uid)
    return got


def test_a_rule_s_studies_go_to_its_readers_and_the_rest_to_everyone(db: GroupDB) -> None:
    set_rule(db, "mr-to-bob", ["bob"], modality="mr")
    set_rule(db, "b-stat", ["cat", "ann"], facility="B", priority="STAT")
    publish(db, [study("mr1", modality="MR", hours=0.5), study("ct1", hours=2), study("bstat", "B", "STAT"),
                 study("bmr-stat", "B", "STAT", "MR", hours=0.2), study("bct", "B", hours=3)], "x")
    assert _drain(db, "ann") == ["bmr-stat", "bstat", "ct1", "bct"]  # not mr1 (bob's); bmr-stat: ann via b-stat
    assert _drain(db, "cat") == []
    assert _drain(db, "bob") == ["mr1"]


def test_without_rules_the_queue_is_unchanged_and_removing_a_rule_opens_its_studies(db: GroupDB) -> None:
    set_rule(db, "ct-to-bob", ["bob"], modality="CT")
    publish(db, [study("ct1"), study("ct2", hours=2)], "x")
    assert next_case(db, "ann").reason == "empty"
    remove_rule(db, "ct-to-bob")
    assert list_rules(db) == []
    assert _drain(db, "ann") == ["ct1", "ct2"]


def test_rules_need_known_readers_and_do_not_bypass_credentials(db: GroupDB) -> None:
    with pytest.raises(UnknownReader, match="zed"):
        set_rule(db, "r", ["bob", "zed"])
    with pytest.raises(GroupError, match="at least one reader"):
        set_rule(db, "r", [" "])
    with pytest.raises(GroupError, match="priority"):
        set_rule(db, "r", ["bob"], priority="soon")
    assert list_rules(db) == []
    add_reader(db, "dan", facilities=["A"], licenses=["CA"])  # not licensed in T    assert _drain(db, "ann") == ["bmr-stat", "bstat", "ct1", "bct"]  # not mr1 (bob's); bmr-stat: ann via b-stat
    set_rule(db, "a-to-dan", ["dan", "bob"], facility="A")
    publish(db, [study("a1")], "x")
    assert next_case(db, "dan").reason == "empty"
    claim = next_case(db, "bob").claim
    assert claim is not None and claim.study_uid == "a1"
    handover(db, "bob", "a1", "ann")  # a rule routes the queue; an explicit hand-over needs credentials only


def test_the_replaced_next_case_keeps_its_generic_plan(db: GroupDB, group_url: str) -> None:  # noqa: F811
    with psycopg.connect(group_url) as conn:
        config = conn.execute("SELECT proconfig FROM pg_proc WHERE proname = 'group_next_case'").fetchone()[0]
    assert "plan_cache_mode=force_generic_plan" in config


def test_cli_sets_lists_and_removes_rules(tmp_path: Path, group_url: str, db: GroupDB) -> None:  # noqa: F811
    home = tmp_path / "home"
    out = ok(telerad(home, group_url, "rules", "set", "neuro-mr", "--reader", "bob", "--reader", "cat",
                     "--modality", "MR", "--subspecialty", "neuro"))
    assert out.strip() == "neuro-mr: modality MR, subspecialty neuro -> bob, cat"
    listed = json.loads(ok(telerad(home, group_url, "rules", "list", "--json")))
    assert listed == [{"name": "neuro-mr", "readers": ["bob", "cat"], "facility": None, "modality": "MR",
                       "priority": None, "subspecialty": "neuro"}]
    publish(db, [study("head", modality="MR", sub="neuro")], "x")
    assert telerad(home, group_url, "worklist", "next", "--json", reader="ann").returncode == 3  # none for ann
    bad = telerad(home, group_url, "rules", "set", "x", "--reader", "nobody")
    assert bad.returncode != 0 and "nobody" in bad.stderr and "Traceback" not in bad.stderr
    ok(telerad(home, group_url, "rules", "remove", "neuro-mr"))
    assert "no assignment rules" in ok(telerad(home, group_url, "rules", "list"))
    assert json.loads(ok(telerad(home, group_url, "worklist", "next", "--json", reader="ann")))["study_instance_uid"] == "head"
