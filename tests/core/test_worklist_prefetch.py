"""Prior prefetch: queue logic with a fake retrieve callable, then a real retrieval into the cache."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from app.tasks import Cancelled, Progress, check_cancel
from app.worklist import PrefetchQueue, Priority, Worklist, plan_prefetch, prefetch_worklist
from tests.core.test_worklist_support import FakeCache, FakeClock, study


class FakeRetrieve:
    """Records calls; the first call waits on ``gate`` so the queue can fill up behind it."""

    def __init__(self, fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.started = threading.Event()
        self.fail = fail

    def __call__(self, uid: str, progress: Any, cancel: threading.Event | None) -> None:
        self.calls.append(uid)
        self.started.set()
        for i in range(3):
            while not self.gate.wait(0.01):
                check_cancel(cancel)
            check_cancel(cancel)
            if uid in self.fail:
                raise OSError("association rejected")
            progress(Progress(i + 1, 3, "images"))


def test_most_urgent_first_with_progress_per_study() -> None:
    fake = FakeRetrieve()
    updates: list[tuple[str, str, int]] = []
    q = PrefetchQueue(fake, maxsize=10, on_update=lambda s: updates.append((s.study_uid, s.state, s.done)))
    assert q.submit("first", 5)
    assert fake.started.wait(5)
    for uid, urgency in (("c", 3), ("a", 1), ("b", 2)):
        assert q.submit(uid, urgency)
    assert q.pending() == ["a", "b", "c"]
    assert q.submit("c", 0)  # raised urgency jumps the queue
    assert q.pending() == ["c", "a", "b"]
    fake.gate.set()
    assert q.wait_idle(10)
    assert fake.calls == ["first", "c", "a", "b"]
    assert all(s.state == "done" and s.done == 3 and s.total == 3 for s in q.states().values())
    assert ("a", "running", 2) in updates
    assert not q.submit("a", 0)  # already fetched
    q.shutdown()


def test_bounded_queue_refuses_or_evicts_the_least_urgent() -> None:
    fake = FakeRetrieve()
    q = PrefetchQueue(fake, maxsize=2)
    q.submit("running", 0)
    assert fake.started.wait(5)
    assert q.submit("x", 5) and q.submit("y", 7)
    assert not q.submit("z", 9)            # full, and less urgent than everything queued
    assert q.submit("w", 1)                # more urgent: evicts y
    assert q.pending() == ["w", "x"] and q.status("y").state == "dropped"
    q.shutdown()


def test_cancel_queued_and_running_and_failures_do_not_stop_the_queue() -> None:
    fake = FakeRetrieve(fail={"bad"})
    q = PrefetchQueue(fake, maxsize=5)
    q.submit("running", 0)
    assert fake.started.wait(5)
    q.submit("queued", 1)
    q.submit("bad", 2)
    q.submit("good", 3)
    assert q.cancel("queued") and q.status("queued").state == "cancelled"
    assert q.cancel("running")
    fake.gate.set()
    assert q.wait_idle(10)
    assert q.status("running").state == "cancelled"
    assert q.status("bad").state == "failed" and "association" in q.status("bad").error
    assert q.status("good").state == "done"
    assert "queued" not in fake.calls
    assert not q.cancel("good")
    q.shutdown()
    assert not q.submit("late", 0)


def test_plan_takes_remote_priors_of_the_most_urgent_study_first(tmp_path: Path) -> None:
    wl = Worklist.open(tmp_path, clock=FakeClock())
    cache = FakeCache([study("routine", patient_id="R"), study("stat", patient_id="S")])
    remote = [study("r-prior1", patient_id="R", study_date="20240101"),
              study("r-prior2", patient_id="R", study_date="20230101", modalities=("MR",)),
              study("r-prior3", patient_id="R", study_date="20220101", modalities=("US",)),
              study("s-prior", patient_id="S", study_date="20200101")]
    wl.refresh(cache, remote_priors=remote)
    wl.set_priority("stat", Priority.STAT, "dr")
    plan = plan_prefetch(wl.entries(), lambda uid: wl.entry(uid).local, per_study=2)
    assert [(uid, target) for _, uid, target in plan] == [
        ("s-prior", "stat"), ("r-prior1", "routine"), ("r-prior2", "routine")]
    wl.close()


def test_prefetch_retrieves_priors_into_the_cache(tmp_path: Path, shared_data: Path) -> None:
    """A folder stands in for the remote archive; the retrieval really imports into the cache."""
    import pydicom

    from app.importer import import_paths
    from app.store import Cache

    current = shared_data / "ct" / "philips_phantom_study1_1mm"
    archive = shared_data / "ct" / "philips_phantom_study2_tilted"
    header = pydicom.dcmread(archive / "I10", stop_before_pixels=True)
    prior_uid = str(header.StudyInstanceUID)
    remote = [{"study_instance_uid": prior_uid, "patient_id": str(header.PatientID), "modalities": ["CT"],
               "study_date": str(header.StudyDate), "body_part": "BRAIN", "institution": "QMC"}]
    with Cache.open(tmp_path / "cache") as cache:
        import_paths(cache, [current])
        wl = Worklist.open(tmp_path)
        wl.refresh(cache, remote_priors=remote)
        assert not wl.entry(prior_uid).local

        def retrieve(uid: str, progress: Any, cancel: threading.Event | None) -> None:
            if uid != prior_uid:
                raise LookupError(uid)
            summary = import_paths(cache, [archive], progress=progress, cancel=cancel)
            if summary.cancelled:
                raise Cancelled()

        seen: list[int] = []
        q = PrefetchQueue(retrieve, on_update=lambda s: seen.append(s.done))
        assert prefetch_worklist(wl, q) == 1
        assert q.wait_idle(60)
        assert q.status(prior_uid).state == "done" and max(seen) >= 54
        wl.refresh(cache)
        prior = wl.entry(prior_uid)
        assert prior.local and prior.num_instances == 54
        assert prior.reference and not prior.to_read  # fetched as a prior: not on the reading list
        assert prefetch_worklist(wl, q) == 0  # nothing left to fetch
        q.shutdown()
        wl.close()
