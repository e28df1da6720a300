"""Reader-first WADO-RS: one request per instance in :mod:`app.network.fetch_order`, over a few parallel
keep-alive connections, compressed on the wire (the PACS transcodes; ``"*"`` = as stored is the fallback).

A home line has a long round trip: a few connections keep it full while the opening slice arrives first
(bench/wan.py). A transport error stops the fetch with the partial result attached (``exc.result``): the caller
(:mod:`app.network.fetch`) flags the study incomplete and resumes with what is still missing.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections import deque
from typing import TYPE_CHECKING

from app.network import netaudit
from app.network.arrivals import Arrivals
from app.network.dicomweb import DicomWebClient, DicomWebError
from app.network.fetch_order import Slot, reader_order
from app.network.query import Query
from app.network.received import ReceivedMeta, StoreCallback, StoreOutcome
from app.network.retrieve import RetrieveResult
from app.network.syntaxes import wire_preference
from app.tasks import Cancelled, ProgressFn, report

if TYPE_CHECKING:
    from app.audit import AuditLog

LOG = logging.getLogger(__name__)
CONNECTIONS = 8  # bench/wan.py, 50 Mbit/s / 30 ms: 2 -> 29 s, 4 -> 15.7 s, 8 -> 10.5 s
_REFUSED = (400, 406, 415)  # the server cannot give this transfer syntax


def plan(client: DicomWebClient, study_uid: str, series_uid: str | None = None) -> list[Slot]:
    """Every instance of the study (or series) from QIDO-RS, in reader order."""
    series = client.search(Query(study_uid=study_uid), "series")
    slots = []
    for s in series:
        uid = s.get("SeriesInstanceUID", "")
        if series_uid and uid != series_uid:
            continue
        for inst in client.search(Query(study_uid=study_uid, series_uid=uid), "image"):
            if inst.get("SOPInstanceUID"):
                slots.append(Slot(uid, inst["SOPInstanceUID"], _int(inst.get("InstanceNumber")),
                                  _int(s.get("SeriesNumber"))))
    return reader_order(slots)


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


class _Fetch:
    """Shared state of the worker threads: the queue, the chosen transfer syntax, the first error."""

    def __init__(self, client: DicomWebClient, study_uid: str, todo: list[Slot], wire: str,
                 cancel: threading.Event | None) -> None:
        self.client, self.study_uid, self.cancel = client, study_uid, cancel
        self.queue: deque[Slot] = deque(todo)
        self.syntaxes = wire_preference(wire)
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.missing: list[str] = []  # instances the server does not have (404)

    def next(self) -> Slot | None:
        with self.lock:
            stop = self.error is not None or (self.cancel is not None and self.cancel.is_set())
            return None if stop or not self.queue else self.queue.popleft()

    def get(self, slot: Slot) -> bytes | None:
        """The instance's bytes in the best transfer syntax the server gives; None if it has no such instance."""
        path = f"/studies/{self.study_uid}/series/{slot.series_uid}/instances/{slot.sop_uid}"
        while True:
            ts = self.syntaxes[0]
            try:
                parts = list(self.client.iter_instances(path, self.cancel, transfer_syntax=ts))
                return parts[0] if parts else None
            except DicomWebError as exc:
                if exc.status in _REFUSED and ts != "*":
                    with self.lock:
                        if self.syntaxes[0] == ts:
                            LOG.info("%s does not give %s; next: %s", self.client.host, ts, self.syntaxes[1])
                            self.syntaxes.pop(0)
                    continue
                if exc.status == 404:
                    return None
                raise

    def fail(self, slot: Slot, exc: BaseException) -> None:
        with self.lock:
            self.queue.appendleft(slot)
            self.error = self.error or exc


def fetch_study(client: DicomWebClient, study_uid: str, on_stored: StoreCallback, *, series_uid: str | None = None,
                have: set[str] | frozenset[str] = frozenset(), wire: str = "lossless",
                connections: int = CONNECTIONS, arrivals: Arrivals | None = None, node_name: str | None = None,
                audit: "AuditLog | None" = None, user: str | None = None, cancel: threading.Event | None = None,
                progress: ProgressFn | None = None) -> RetrieveResult:
    """Fetch what ``have`` lacks, reader first; raises on the first transport error (``exc.result`` = partial)."""
    from app.network.writer import BackgroundStore, tally

    arrivals = arrivals or Arrivals()
    slots = plan(client, study_uid, series_uid)
    todo = [s for s in slots if s.sop_uid not in have]
    arrivals.plan([(s.series_uid, s.sop_uid) for s in todo], [s.sop_uid for s in slots if s.sop_uid in have],
                  {s.sop_uid: s.instance_number for s in slots})
    result = RetrieveResult(study_uid, "dicomweb", len(slots), len(todo))
    state = _Fetch(client, study_uid, todo, wire, cancel)
    sizes: dict[str, int] = {}

    def record(meta: ReceivedMeta, outcome: StoreOutcome) -> None:
        with state.lock:
            tally(result.outcomes, result.received, meta, outcome)
        if outcome.status != "rejected":
            arrivals.arrived(meta.sop_instance_uid, sizes.get(meta.sop_instance_uid, 0))
        # counts of this request (as the DIMSE paths); the message has the study's ("142 of 300"), MB/s, time left
        report(progress, len(result.received), len(todo), arrivals.snapshot().message())

    writer = BackgroundStore(on_stored, record, name="telerad-wado-writer")

    def _one(slot: Slot) -> bool:
        try:
            data = state.get(slot)
        except (OSError, DicomWebError, http.client.HTTPException, Cancelled) as exc:
            state.fail(slot, exc)
            return False
        if data is None:
            with state.lock:
                state.missing.append(slot.sop_uid)
            return True
        sizes[slot.sop_uid] = len(data)
        writer.submit(data, client._meta(data, node_name))
        return True

    def work() -> None:
        while (slot := state.next()) is not None and _one(slot):
            pass

    netaudit.begin_transfer(audit, node=node_name or client.host, study_uid=study_uid, method="WADO-RS", user=user)
    try:
        try:
            first = state.next()  # the opening slice alone first: it is the first in the cache
            if first is not None:
                _one(first)
            threads = [threading.Thread(target=work, name=f"telerad-wado-{i}", daemon=True)
                       for i in range(max(1, min(connections, len(todo))))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            writer.close()
        result.failed += writer.failed + len(state.missing)
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            raise Cancelled()
        if state.error is not None:
            raise state.error
        result.statuses.append(0)
    except BaseException as exc:
        exc.result = result  # type: ignore[attr-defined]  # what arrived before the error
        raise
    finally:
        from app.network.writer import stored_count

        stored = stored_count(result.outcomes)
        netaudit.transfer(audit, direction="retrieved", node=node_name or client.host, study_uid=study_uid,
                          count=stored, failed=result.failed, user=user, outcome=4 if result.cancelled else None,
                          extra={"method": "WADO-RS", "incomplete": result.incomplete,
                                 "transfer_syntax": state.syntaxes[0]})
    return result
