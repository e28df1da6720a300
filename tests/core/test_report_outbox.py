"""Outbox: durable queue filled with the finalising transaction, retries with backoff + jitter, leases."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.reporting.model import ReportState, StudyInfo
from app.reporting.outbox import Backoff, Delivery, Outbox
from app.reporting.store import OutputFile, ReportStore, utc_now

STUDY = StudyInfo("1.2.826.0.1.3680043.8.498.2", patient_name="DOE^JANE")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def store(tmp_path: Path) -> ReportStore:
    s = ReportStore(tmp_path / "reports.sqlite")
    yield s
    s.close()


def _path(store: ReportStore, uid: str) -> str:
    return str(store.path.parent / "x" / f"{uid}.dcm")


def _finalise(store: ReportStore, uids: list[str], node: str = "PACS") -> str:
    """Sign a fresh report whose outputs (roles sr, epdf: small files with their recorded hashes) get the
    given SOP Instance UIDs, queued to ``node``."""
    from app.reporting.integrity import write_signed

    count = store.db["reports"].count
    report = store.create_draft(StudyInfo(f"{STUDY.study_uid}.{count + 1}"))
    signed = store.signed_version(report.id, "Example^Alice", utc_now())
    outputs = [OutputFile(role, _path(store, u), write_signed(Path(_path(store, u)), u.encode()), len(u), u)
               for role, u in zip(("sr", "epdf"), uids)]
    store.finalize(signed, outputs, [Delivery(u, _path(store, u), node) for u in uids])
    return report.id


def test_rows_commit_with_the_signature_or_not_at_all(store: ReportStore) -> None:
    rid = _finalise(store, ["1.2.3.1", "1.2.3.2"])
    box = Outbox(store.db, send=lambda p, n: None)
    assert [(i.sop_instance_uid, i.state) for i in box.items(rid)] == [("1.2.3.1", "queued"), ("1.2.3.2", "queued")]
    # A failure while enqueueing (duplicate SOP Instance UID) rolls the signature back too.
    report = store.create_draft(STUDY)
    signed = store.signed_version(report.id, "Example^Alice", utc_now())
    with pytest.raises(Exception):
        store.finalize(signed, [], [Delivery("1.2.3.1", "/x/dup.dcm", "PACS")])
    assert store.get(report.id).state == ReportState.DRAFT and store.outputs(report.id) == []


def test_send_success_failure_backoff_and_retry(store: ReportStore) -> None:
    rid = _finalise(store, ["1.2.3.1", "1.2.3.2"])
    clock, calls, broken = Clock(), [], {"1.2.3.2"}

    def send(path: str, node: str) -> None:
        calls.append((path, node))
        if any(b in path for b in broken):
            raise ConnectionRefusedError("node down")

    box = store.outbox(send, backoff=Backoff(base_s=10, cap_s=100), rng=random.Random(1), clock=clock)
    assert box.process_due() == 1
    items = {i.sop_instance_uid: i for i in box.items(rid)}
    assert items["1.2.3.1"].state == "sent"
    failed = items["1.2.3.2"]
    assert failed.state == "failed" and "node down" in failed.last_error and failed.attempts == 1
    assert 1005 <= failed.next_attempt_at < 1010  # 10 s * [0.5, 1)
    assert box.report_state(rid) == "failed"
    assert box.process_due() == 0 and len(calls) == 2  # not due yet
    delays = []
    for attempt in range(2, 7):
        clock.now = box.items(rid)[1].next_attempt_at
        box.process_due()
        item = box.items(rid)[1]
        assert item.attempts == attempt
        delays.append(item.next_attempt_at - clock.now)
    ceilings = [min(100, 10 * 2 ** (a - 1)) for a in range(2, 7)]
    assert all(c / 2 <= d < c for d, c in zip(delays, ceilings)), delays
    broken.clear()
    box.retry_now("1.2.3.2")
    assert box.process_due() == 1 and box.report_state(rid) == "sent"


def test_crash_while_sending_is_retried_after_the_lease(store: ReportStore) -> None:
    rid = _finalise(store, ["1.2.3.9"])
    clock = Clock()

    class Killed(BaseException):
        pass

    def dies(path: str, node: str) -> None:
        raise Killed()  # like a SIGKILL between 'sending' and 'sent'

    with pytest.raises(Killed):
        Outbox(store.db, dies, lease_s=60, clock=clock).process_due()
    assert Outbox(store.db, dies).items(rid)[0].state == "sending"
    sent: list[str] = []
    restarted = Outbox(store.db, lambda p, n: sent.append(p), lease_s=60, clock=clock)
    assert restarted.process_due() == 0  # lease still held
    clock.now += 61
    assert restarted.process_due() == 1 and sent == [_path(store, "1.2.3.9")]
    assert restarted.report_state(rid) == "sent"
