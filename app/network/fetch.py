"""Retrieve a study into the cache, the one path of the CLI and the window: method choice, reader-first
compressed WADO-RS, automatic resume with backoff, and the "incomplete" flag on every failure path.

The study is flagged incomplete as soon as its first instance is in the cache and cleared only when a
retrieve ends with nothing missing, so a crash, a kill or a drop at any point leaves the flag set.
"""

from __future__ import annotations

import http.client
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from app.network.arrivals import Arrivals
from app.network.nodes import Node
from app.network.received import ReceivedMeta, StoreOutcome
from app.network.sink import CacheSink, local_instance_uids, mark_completeness
from app.tasks import Cancelled, ProgressFn

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.network.retrieve import RetrieveResult
    from app.network.scp import StorageSCP
    from app.store import Cache

LOG = logging.getLogger(__name__)
STALL = 20.0  # s without a byte on a connection: the link is taken as down
RESUME_FOR = 600.0  # s without progress before a retrieve gives up (configurable per call)


@dataclass(frozen=True)
class Resume:
    """How long to keep retrying after a transport error, and the backoff between tries."""

    give_up_after: float = RESUME_FOR  # since the last instance that arrived
    first_delay: float = 1.0
    max_delay: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** max(0, attempt - 1))


def choose_method(node: Node, requested: str | None = None) -> str:
    """The one retrieve method choice: ``requested`` if given, else WADO-RS when the node has a DICOMweb URL,
    else its C-GET/C-MOVE setting."""
    if requested and requested != "auto":
        if requested not in ("get", "move", "dicomweb"):
            raise ValueError(f"retrieve method {requested!r}: use get, move or dicomweb")
        return requested
    return "dicomweb" if node.dicomweb else node.retrieve


class FlaggingSink(CacheSink):
    """The cache sink that flags the study incomplete once its first instance is stored."""

    def __init__(self, cache: "Cache", study_uid: str, reason: str, arrivals: Arrivals | None = None) -> None:
        super().__init__(cache)
        self.study_uid, self.reason, self.flagged = study_uid, reason, False
        self.arrivals = arrivals  # its planned total goes with the flag ("1 of 300" on the worklist at once)
        self.feed = False  # arrivals fed here on the DIMSE paths (WADO-RS feeds its own)

    def __call__(self, data: bytes, meta: ReceivedMeta) -> StoreOutcome:
        outcome = self._flag([super().__call__(data, meta)])[0]
        self._arrived([(data, meta)], [outcome])
        return outcome

    def many(self, items: Sequence[tuple[bytes, ReceivedMeta]]) -> list[StoreOutcome]:
        outcomes = self._flag(super().many(items))
        self._arrived(items, outcomes)
        return outcomes

    def _arrived(self, items: Sequence[tuple[bytes, ReceivedMeta]], outcomes: list[StoreOutcome]) -> None:
        if self.arrivals is not None and self.feed:
            for item, outcome in zip(items, outcomes):  # (data, meta) or (data, meta, spooled path)
                if outcome.status != "rejected":
                    self.arrivals.arrived(item[1].sop_instance_uid, len(item[0]))

    def _flag(self, outcomes: list[StoreOutcome]) -> list[StoreOutcome]:
        if not self.flagged and any(o.status != "rejected" for o in outcomes):
            expected = self.arrivals.snapshot().expected if self.arrivals is not None else None
            self.flagged = mark_completeness(self.cache, self.study_uid, True, expected, self.reason)
        return outcomes


_TRANSIENT: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


def _transient() -> tuple[type[BaseException], ...]:
    from app.network.dicomweb import DicomWebError
    from app.network.scu import NetworkError

    return (*_TRANSIENT, NetworkError, DicomWebError)


def retrieve_into_cache(cache: "Cache", node: Node, calling_aet: str, study_uid: str, *,
                        method: str | None = None, scp: "StorageSCP | None" = None, series_uid: str | None = None,
                        refetch_all: bool = False, arrivals: Arrivals | None = None, resume: Resume = Resume(),
                        connections: int | None = None,
                        audit: "AuditLog | None" = None, user: str | None = None,
                        cancel: threading.Event | None = None, progress: ProgressFn | None = None) -> "RetrieveResult":
    """Fetch what the cache lacks (:func:`choose_method`); resume after transport errors until
    ``resume.give_up_after`` s pass without a new instance in the cache; flag/clear "incomplete" on every exit."""
    chosen, auto = choose_method(node, method), method is None or method == "auto"
    arrivals = arrivals or Arrivals()
    sink = FlaggingSink(cache, study_uid, f"retrieve from {node.name} not finished", arrivals)
    received: set[str] = set()
    last_progress, attempt, expected, progressed = time.monotonic(), 0, None, False
    try:
        while True:
            cached = local_instance_uids(cache, study_uid)
            have = set() if refetch_all and attempt == 0 else cached
            try:
                result = _once(node, calling_aet, study_uid, chosen, auto, sink, scp, series_uid, have, arrivals,
                               audit, user, cancel, progress, connections)
                error: BaseException | None = None
            except Cancelled as exc:
                _flag_short(cache, study_uid, getattr(exc, "result", None), expected, f"retrieve from {node.name} cancelled")
                raise
            except _transient() as exc:
                result, error = getattr(exc, "result", None), exc
            if result is not None:
                received |= result.received
                expected = result.expected or expected
            grew = len(local_instance_uids(cache, study_uid)) > len(cached)
            if grew:
                last_progress, attempt, progressed = time.monotonic(), 0, True
            if error is None and result is not None and (not result.incomplete or result.cancelled or not grew):
                result.received |= received
                mark_completeness(cache, study_uid, result.incomplete, result.expected or expected,
                                  f"retrieve from {node.name} ended short")
                return result
            # a transport error, or ended short after progress (e.g. a peer's failure status after a drop)
            _flag_short(cache, study_uid, result, expected, f"retrieve from {node.name} interrupted: {error or 'short'}")
            attempt += 1
            if error is not None and (not _worth_retrying(error, progressed)
                                      or time.monotonic() - last_progress > resume.give_up_after):
                raise error
            _pause(node, resume, attempt, error, arrivals, cancel)
    except BaseException:
        if not isinstance(sys.exc_info()[1], _transient() + (Cancelled,)):
            _flag_short(cache, study_uid, None, expected, f"retrieve from {node.name} failed")
        raise
    finally:
        arrivals.finish()


def _pause(node: Node, resume: Resume, attempt: int, error: BaseException | None, arrivals: Arrivals,
           cancel: threading.Event | None) -> None:
    """Wait before the next try (the link may be down); Cancelled if cancelled meanwhile."""
    delay = resume.delay(attempt) if error is not None else 0.0
    LOG.warning("retrieve from %s interrupted (%s); retry %d in %.0f s", node.name, error or "ended short", attempt,
                delay)
    arrivals.set_waiting(True)
    try:
        if cancel is not None and cancel.wait(delay):
            raise Cancelled()
        if cancel is None:
            time.sleep(delay)
    finally:
        arrivals.set_waiting(False)


def _worth_retrying(exc: BaseException, progressed: bool) -> bool:
    """A socket-level error always (the link may come back); a peer's refusal only once instances came (a drop
    mid-transfer shows as an association or DIMSE failure too); never an HTTP 4xx answer."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return False
    link = isinstance(exc, (OSError, http.client.HTTPException)) or "cannot connect" in str(exc)
    return link or progressed


def _flag_short(cache: "Cache", study_uid: str, partial: "RetrieveResult | None", expected: int | None,
                reason: str) -> None:
    mark_completeness(cache, study_uid, True, (partial.expected if partial is not None else None) or expected, reason)


def _once(node: Node, calling_aet: str, study_uid: str, method: str, may_fall_back: bool, sink: FlaggingSink,
          scp: "StorageSCP | None", series_uid: str | None, have: set[str], arrivals: Arrivals,
          audit: "AuditLog | None", user: str | None, cancel: threading.Event | None,
          progress: ProgressFn | None, connections: int | None = None) -> "RetrieveResult":
    """One attempt by ``method``; WADO-RS falls back to the node's DIMSE method (``may_fall_back``) if it
    fails before any instance arrived."""
    from app.network.retrieve import retrieve_study

    sink.feed = False  # WADO-RS feeds ``arrivals`` itself (with its plan)
    if method == "dicomweb":
        from app.network.dicomweb import DicomWebClient, DicomWebError
        from app.network.webfetch import CONNECTIONS, fetch_study

        try:
            with DicomWebClient(node.dicomweb or "", node.tls, timeout=STALL) as client:
                return fetch_study(client, study_uid, sink, series_uid=series_uid, have=have, wire=node.wire,
                                   connections=connections or CONNECTIONS, arrivals=arrivals, node_name=node.name, audit=audit, user=user, cancel=cancel,
                                   progress=progress)
        except (DicomWebError, ConnectionRefusedError) as exc:  # the server answered or nothing listens there;
            partial = getattr(exc, "result", None)  # a timeout / unreachable host is the link: resumed by the caller
            if not may_fall_back or (partial is not None and (partial.received or partial.outcomes)):
                raise
            LOG.warning("DICOMweb retrieve from %s failed (%s); using C-%s", node.name, exc, node.retrieve.upper())
            method = node.retrieve
    if method == "move" and scp is None:
        raise ValueError(f"C-MOVE from {node.name} needs our Storage SCP, which is not listening")
    wire = node.wire if node.transcodes and method == "get" else "stored"
    sink.feed = True  # the viewer follows C-GET/C-MOVE too (no plan: it fills in without placeholders)
    result = retrieve_study(node, calling_aet, study_uid, on_stored=sink, scp=scp, series_uid=series_uid, have=have,
                            method=method, audit=audit, user=user, cancel=cancel, progress=progress, wire=wire)
    if wire != "stored" and result.failed and not result.received:  # e.g. Orthanc 1.10: its C-GET never transcodes
        LOG.warning("C-GET from %s: compressed transfer refused; as stored", node.name)
        result = retrieve_study(node, calling_aet, study_uid, on_stored=sink, scp=scp, series_uid=series_uid,
                                have=have, method=method, audit=audit, user=user, cancel=cancel, progress=progress)
    return result
