"""Group reading on a real PostgreSQL: the claim rules, 50 concurrent readers, a killed reader, a restart."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from app.group import GroupDB, GroupError, add_reader, complete, handover, next_case, publish, release, set_facility
from app.group.queue import Published, history, renew
from tests.core import group_worker
from tests.group_pg import group_url, pg_server  # noqa: F401  (fixtures)

NOW = datetime.now(timezone.utc)
FORK = multiprocessing.get_context("fork")


def study(uid: str, facility: str = "A", priority: str = "routine", hours: float = 1.0, patient: str = "") -> Published:
    return Published(uid, facility, priority, NOW + timedelta(hours=hours), "CT", patient_key=patient)


@pytest.fixture
def db(group_url: str):  # noqa: F811
    with GroupDB(group_url) as database:
        set_facility(database, "A", "tx")
        set_facility(database, "B", "CA")
        yield database


def test_next_case_is_stat_first_then_due_within_credentials_licence_and_cap(db: GroupDB) -> None:
    add_reader(db, "ann", facilities=["A", "B"], licenses=["TX"], cap=3)
    publish(db, [study("late", hours=5), study("soon", hours=1), study("stat", priority="STAT", hours=9),
                 study("urgent", priority="urgent", hours=2), study("ca", "B", "STAT", 0.1),
                 study("nowhere", "Z", "STAT", 0.1)], "ann")
    got = [next_case(db, "ann").claim.study_uid for _ in range(3)]
    assert got == ["stat", "soon", "urgent"]  # B is in CA (not licensed), Z nobody's facility
    assert next_case(db, "ann").reason == "cap"
    for uid in got:
        complete(db, "ann", uid)
    assert next_case(db, "ann").claim.study_uid == "late"
    assert next_case(db, "ann").reason == "empty"


def test_subspecialty_and_same_patient_affinity(db: GroupDB) -> None:
    add_reader(db, "neuro", facilities=["A"], licenses=["TX"], subspecialties=["neuro"], cap=5)
    add_reader(db, "body", facilities=["A"], licenses=["TX"], cap=5)
    publish(db, [Published("msk", "A", "STAT", NOW, "MR", "msk"),
                 Published("head", "A", "routine", NOW + timedelta(hours=3), "CT", "neuro", "p1"),
                 Published("p1-chest", "A", "routine", NOW + timedelta(hours=9), "CT", "general", "p1"),
                 Published("other", "A", "urgent", NOW + timedelta(hours=1), "CT", "general", "p2")], "x")
    assert next_case(db, "neuro").claim.study_uid == "other"  # msk is not theirs; then by due
    assert next_case(db, "neuro").claim.study_uid == "head"
    assert next_case(db, "body").claim.study_uid == "msk"
    assert next_case(db, "body").reason == "empty"  # p1's chest goes to the reader holding p1's head
    assert next_case(db, "neuro").claim.study_uid == "p1-chest"


def test_release_and_handover_check_the_holder_and_the_colleague(db: GroupDB) -> None:
    add_reader(db, "ann", facilities=["A"], licenses=["TX"])
    add_reader(db, "bob", facilities=["A"], licenses=["TX"])
    add_reader(db, "cal", facilities=["A"], licenses=["CA"])
    publish(db, [study("s1")], "ann")
    assert next_case(db, "ann").claim.study_uid == "s1"
    with pytest.raises(GroupError, match="does not hold"):
        release(db, "bob", "s1")
    with pytest.raises(GroupError, match="not licensed in TX"):
        handover(db, "ann", "s1", "cal")
    assert handover(db, "ann", "s1", "bob").reader == "bob"
    assert next_case(db, "ann").reason == "empty"
    release(db, "bob", "s1")
    assert next_case(db, "ann").claim.study_uid == "s1"
    assert [e["action"] for e in history(db, "s1")] == ["claimed", "handed_over", "released", "claimed"]


def test_an_expired_lease_returns_the_study_and_renewal_keeps_it(db: GroupDB) -> None:
    add_reader(db, "ann", facilities=["A"], licenses=["TX"])
    add_reader(db, "bob", facilities=["A"], licenses=["TX"])
    publish(db, [study("kept"), study("lost", hours=2)], "ann")
    next_case(db, "ann", lease=1.0)
    next_case(db, "ann", lease=1.0)
    time.sleep(0.5)
    assert set(renew(db, "ann", lease=1.0)) == {"kept", "lost"}
    release(db, "ann", "kept")
    publish(db, [study("kept")], "ann")
    time.sleep(1.3)  # "lost" expires
    claimed = next_case(db, "bob").claim
    assert claimed.study_uid == "kept"
    assert next_case(db, "bob").claim.study_uid == "lost"
    assert history(db, "lost")[-1]["expired_claim_of"] == "ann"
    with pytest.raises(GroupError):
        complete(db, "ann", "lost")  # taken by bob after the lease: ann's read is refused


def test_fifty_readers_drain_ten_thousand_studies_without_a_double_or_a_loss(group_url: str) -> None:  # noqa: F811
    readers, studies, orphans = 50, 10_000, 20
    group_worker.seed(group_url, studies, readers, orphans=orphans)
    out = FORK.Queue()
    procs = [FORK.Process(target=group_worker.pull, args=(group_url, f"r{i}", out)) for i in range(readers)]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(30)
    elapsed = time.monotonic() - started
    read = Counter(uid for r in results for uid in r["read"])
    assert [uid for uid, n in read.items() if n > 1] == []
    assert len(read) == studies  # none lost: every readable study read once, the orphans left queued
    by_uid = {f"1.2.{n}": f"F{n % 5}" for n in range(studies)}
    for r in results:
        i = int(r["reader"][1:])
        assert all(group_worker.may_read(i, by_uid[uid]) for uid in r["read"]), r["reader"]
    with GroupDB(group_url) as db:
        rows = db.run(lambda c: c.execute("SELECT status, count(*) FROM studies GROUP BY status").fetchall())
        claims = db.run(lambda c: c.execute("SELECT study_uid, count(*) FROM study_events WHERE action = 'claimed' "
                                            "GROUP BY study_uid HAVING count(*) > 1").fetchall())
    assert dict(rows) == {"final": studies, "unread": orphans}
    assert claims == []
    print(f"\n50 readers, {studies} studies: {elapsed:.1f} s, load {os.getloadavg()[0]:.1f}")


def test_a_killed_reader_s_studies_return_after_the_lease(group_url: str) -> None:  # noqa: F811
    group_worker.seed(group_url, 40, 10)
    ready = FORK.Queue()
    victim = FORK.Process(target=group_worker.hold, args=(group_url, "r0", 2, 2.0, ready))
    victim.start()
    held = ready.get(timeout=30)
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    assert len(held) == 2
    with GroupDB(group_url) as db:
        mate = "r5"  # same facility as r0
        early = [next_case(db, mate, lease=60).claim.study_uid for _ in range(2)]
        assert not set(early) & set(held)  # still leased to the dead reader
        for uid in early:
            release(db, mate, uid)
        time.sleep(2.2)
        taken = set()
        while len(taken) < 8:  # r5's facility: 8 studies; the dead reader's two among them again
            claim = next_case(db, mate, lease=60).claim
            assert claim is not None
            taken.add(claim.study_uid)
            complete(db, mate, claim.study_uid)
        assert set(held) <= taken
        assert all(history(db, uid)[-2].get("expired_claim_of") == "r0" for uid in held)


def test_readers_reconnect_across_a_postgresql_restart(group_url: str, pg_server) -> None:  # noqa: F811
    studies, readers = 600, 10
    group_worker.seed(group_url, studies, readers)
    out = FORK.Queue()
    procs = [FORK.Process(target=group_worker.pull, args=(group_url, f"r{i}", out),
                          kwargs={"pause": 0.02, "retry_for": 150.0}) for i in range(readers)]
    for p in procs:
        p.start()
    with GroupDB(group_url) as watch:  # restart once a quarter is read: the readers are mid-run
        count = "SELECT count(*) FROM studies WHERE status = 'final'"
        while watch.run(lambda c: c.execute(count).fetchone()[0]) < studies // 4:
            time.sleep(0.05)
    pg_server.restart()  # from this thread: the server dies with the thread that started it (PDEATHSIG)
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(30)
    assert [r["error"] for r in results if "error" in r] == []
    read = Counter(uid for r in results for uid in r["read"])
    assert [uid for uid, n in read.items() if n > 1] == []
    assert len(read) == studies
    assert sum(r["reconnects"] for r in results) >= readers // 2  # the restart happened while they read
    with GroupDB(group_url) as db:
        claims = db.run(lambda c: c.execute("SELECT study_uid FROM study_events WHERE action = 'claimed' "
                                            "GROUP BY study_uid HAVING count(*) > 1").fetchall())
    assert claims == []
