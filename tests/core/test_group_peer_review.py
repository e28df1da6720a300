"""Peer review on a real PostgreSQL: the sampling rule, offers (never one's own, never twice, credentialed),
RADPEER scores validated, the per-reader summary, and the `telerad review` commands."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from app.config import resolve_paths
from app.group import GroupDB, GroupError, add_reader
from app.group.peer_review import configure, offer, sample, score, settings, summary
from tests.core.test_group_cli import ok, telerad
from tests.group_pg import group_url, pg_server  # noqa: F401  (fixtures)


def finals(db: GroupDB, reader: str, count: int, start: int = 0, facilities: tuple[str, ...] = ("A", "B")) -> None:
    """``count`` final reports signed by ``reader`` (studies read, states recorded), in one transaction."""
    rows = [(f"{reader}-{i}", facilities[i % len(facilities)]) for i in range(start, start + count)]

    def work(conn) -> None:  # type: ignore[no-untyped-def]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO studies (study_uid, facility, priority, priority_rank, due, status, "
                            "read_by, report_state) VALUES (%s, %s, 'routine', 2, now(), 'final', %s, 'final')",
                            [(f"uid-{rid}", fac, reader) for rid, fac in rows])
            cur.executemany("INSERT INTO report_states (report_id, state, study_uid, reader) "
                            "VALUES (%s, 'final', %s, %s)", [(rid, f"uid-{rid}", reader) for rid, _ in rows])

    db.run(work)


@pytest.fixture
def db(group_url: str):  # noqa: F811
    with GroupDB(group_url) as database:
        yield database


def test_sample_is_the_rule_per_reader_never_own_never_twice_and_reproducible(db: GroupDB) -> None:
    readers = [f"r{i}" for i in range(5)]
    for name in readers:
        add_reader(db, name, facilities=["A", "B"], licenses=["TX"])
        finals(db, name, 200)
    add_reader(db, "elsewhere", facilities=["C"])
    assert 0 <= settings(db).fraction <= 1 and settings(db).seed  # a default rule from the migration
    configure(db, fraction=0.04, seed="test-seed")
    assert offer(db, "elsewhere") is None  # credentialed at no facility with sampled reports

    offered, rounds = [], 0
    while True:  # readers take turns until nothing is left to review
        got = [(name, offer(db, name)) for name in readers]
        for name, o in got:
            if o is not None:
                assert o.reader != name  # never one's own report
                assert offer(db, name) == o  # not scored yet: the same offer again (a retry)
                score(db, name, o.report_id, "1")
                offered.append(o)
        rounds += 1
        if all(o is None for _, o in got):
            break
        assert rounds < 100
    ids = [o.report_id for o in offered]
    assert len(ids) == len(set(ids))  # never twice
    per_reader = Counter(o.reader for o in offered)
    assert all(0.02 * 200 <= per_reader[name] <= 0.05 * 200 for name in readers), per_reader
    assert per_reader == dict.fromkeys(readers, 8)  # round(4 % of 200)
    for name in readers:  # the lowest md5(seed || report_id) of each reader: reproducible given the seed
        mine = sorted((f"{name}-{i}" for i in range(200)),
                      key=lambda r: (hashlib.md5(f"test-seed{r}".encode()).hexdigest(), r))
        assert sorted(o.report_id for o in offered if o.reader == name) == sorted(mine[:8])

    finals(db, "r0", 100, start=200)  # more reports: the quota grows, nothing already sampled is sampled again
    assert sample(db) == 4 and sample(db) == 0
    assert offer(db, "elsewhere") is None
    again = offer(db, "r1")
    assert again is not None and again.reader == "r0" and again.report_id not in ids


def test_scores_are_validated_and_summarised_per_reader(db: GroupDB) -> None:
    add_reader(db, "ann", facilities=["A"])
    add_reader(db, "bob", facilities=["A"])
    add_reader(db, "cal", facilities=["A"])
    finals(db, "ann", 4, facilities=("A",))
    configure(db, fraction=1.0, seed="s")
    first = offer(db, "bob")
    assert first is not None and first.reader == "ann"
    for bad in ("4", "2c", "", "concur"):
        with pytest.raises(GroupError, match="1, 2a, 2b, 3a, 3b"):
            score(db, "bob", first.report_id, bad)
    with pytest.raises(GroupError, match="your own"):
        score(db, "ann", first.report_id, "1")
    with pytest.raises(GroupError, match="not offered to you"):
        score(db, "cal", first.report_id, "1")
    with pytest.raises(GroupError, match="not sampled"):
        score(db, "bob", "no-such-report", "1")
    with pytest.raises(GroupError, match="too long"):
        score(db, "bob", first.report_id, "2a", "x" * 5000)
    score(db, "bob", first.report_id, "2A", note="missed a rib fracture")  # case-insensitive
    score(db, "bob", first.report_id, "2a")  # a retried request
    with pytest.raises(GroupError, match="already scored 2a"):
        score(db, "bob", first.report_id, "3b")
    for reviewer, value in (("cal", "1"), ("bob", "1")):
        o = offer(db, reviewer)
        assert o is not None and o.report_id != first.report_id
        score(db, reviewer, o.report_id, value)
    left = offer(db, "cal")  # the fourth one stays offered, unscored
    assert left is not None and offer(db, "bob") is None and offer(db, "ann") is None  # ann: all her own
    [ann] = summary(db)
    assert (ann.reader, ann.sampled, ann.reviewed, ann.concordant_pct) == ("ann", 4, 3, 66.7)
    assert ann.scores == {"1": 2, "2a": 1, "2b": 0, "3a": 0, "3b": 0}
    with pytest.raises(GroupError, match="between 0 and 1"):
        configure(db, fraction=1.5)


def test_cli_review_round_trip(tmp_path: Path, group_url: str) -> None:  # noqa: F811
    with GroupDB(group_url) as db:
        for name in ("ann", "bob"):
            add_reader(db, name, facilities=["A"])
        finals(db, "ann", 2, facilities=("A",))
        configure(db, fraction=0.5, seed="cli")
    home = tmp_path / "bob"
    first = json.loads(ok(telerad(home, group_url, "review", "next", "--json", reader="bob")))
    assert first["reader"] == "ann" and first["report_id"].startswith("ann-")
    bad = telerad(home, group_url, "review", "score", first["report_id"], "5", reader="bob")
    assert bad.returncode == 1 and "2a" in bad.stderr and "Traceback" not in bad.stderr
    ok(telerad(home, group_url, "review", "score", first["report_id"], "2b", "--note", "missed", reader="bob"))
    none = telerad(home, group_url, "review", "next", "--json", reader="bob")
    assert none.returncode == 3 and "no colleague report" in none.stderr
    rows = list(csv.DictReader(io.StringIO(ok(telerad(home, group_url, "review", "summary", "--csv")))))
    assert rows == [{"reader": "ann", "sampled": "1", "reviewed": "1", "concordant_pct": "0.0", "score_1": "0",
                     "score_2a": "0", "score_2b": "1", "score_3a": "0", "score_3b": "0"}]
    from app.audit import AuditLog

    with AuditLog(resolve_paths(str(home)).audit_db) as audit:
        seen = [(r.user, json.loads(r.detail)) for r in audit.records() if r.event_id == "110111"]
    assert [(u, d["what"]) for u, d in seen] == [("bob", "peer review offered"), ("bob", "peer review scored")]
    assert seen[1][1]["score"] == "2b" and seen[1][1]["report_id"] == first["report_id"]
