"""Group reading use cases (``--group URL``): the shared PostgreSQL worklist next to this reader's cache.

Studies entering the local worklist (a listing, an import, a retrieve) are published to the group; "next
case" claims the most urgent study this reader may read (app.group.queue); release and hand-over are
audited; a signed report's state goes to the group through a local pending queue (app.group.pending), so
an unreachable group database loses nothing and a later sync pushes it once. Without ``--group`` none of
this runs: the lone reader's SQLite worklist is the whole story.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

if TYPE_CHECKING:
    from app.group import Claim, NextResult
    from app.reporting.model import Report
    from app.worklist import WorklistEntry
    from app.workstation.workstation import Workstation

log = logging.getLogger(__name__)
GROUP_SERVICE = "group"
QUICK_RETRY_S = 3.0  # a listing or a signature waits at most this long for an unreachable group database


class GroupSession:
    """The group database of one workstation, its local pending report states and its lease keeper."""

    def __init__(self, ws: "Workstation", url: str) -> None:
        from app.group import GroupDB
        from app.group.pending import PendingStates

        self.reader = ws.user
        self.db = GroupDB(url, application_name=f"telerad {ws.user}"[:60])
        self.pending = PendingStates(ws.paths.home)
        self.published: dict[str, tuple[Any, ...]] = {}  # study UID -> what was published (sent once per change)
        self._keeper: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self.watchers: list[tuple[threading.Thread, threading.Event]] = []  # live worklist listeners

    def close(self) -> None:
        self._stop.set()
        for _, stop in self.watchers:
            stop.set()
        for thread, _ in self.watchers:
            thread.join(5)
        if self._keeper is not None:
            self._keeper.join(5)
        self.db.close()
        self.pending.close()


def session(ws: "Workstation") -> Optional[GroupSession]:
    """The workstation's group session (None: no ``--group`` and none saved, a lone reader)."""
    from app.workstation.group_config import configured_url

    url = configured_url(ws)
    if not url:
        return None
    return ws._service(GROUP_SERVICE, lambda: GroupSession(ws, url))  # type: ignore[no-any-return]


def require(ws: "Workstation") -> GroupSession:
    found = session(ws)
    if found is None:
        from app.workstation.workstation import WorkstationError

        raise WorkstationError("no group database: give --group postgresql://... (or TELERAD_GROUP), "
                               "or save one in the window (File > Group reading...)")
    return found


def patient_hash(entry: Any) -> str:
    """Same-patient affinity without PHI in the group database: a hash of (patient ID, issuer or site)."""
    from app.worklist.priors import patient_key

    pid, issuer = patient_key(entry)
    return hashlib.sha256(f"{pid}\x1f{issuer}".encode()).hexdigest()[:32] if pid else ""


def published(entry: "WorklistEntry") -> Any:
    from app.group.queue import Published

    return Published(entry.study_instance_uid, entry.site, entry.priority.value, entry.due,
                     "/".join(entry.modalities), entry.subspecialty, patient_hash(entry), arrival=entry.arrival)


def publish_entries(ws: "Workstation", entries: Iterable["WorklistEntry"]) -> int:
    """Publish the entries still to read that changed since this session last sent them; an unreachable
    group is logged, never an error (the local worklist still lists)."""
    group = session(ws)
    if group is None:
        return 0
    from app.group import GroupError, publish

    fresh = {}
    for entry in entries:
        if not entry.to_read:
            continue
        item = published(entry)
        if group.published.get(item.study_uid) != item:
            fresh[item.study_uid] = item
    if not fresh:
        return 0
    try:
        publish(group.db, fresh.values(), ws.user)
    except GroupError as exc:
        log.warning("studies not published to the group: %s", exc)
        return 0
    group.published.update(fresh)
    return len(fresh)


def publish_studies(ws: "Workstation", study_uids: Iterable[str]) -> int:
    """Publish studies that just entered the cache (import, retrieve)."""
    if session(ws) is None:
        return 0
    from app.workstation.reading import track

    entries = [e for e in (track(ws, uid) for uid in dict.fromkeys(study_uids)) if e is not None]
    return publish_entries(ws, entries)


def _audit(ws: "Workstation", study_uid: str, what: str, **detail: Any) -> None:
    from app.audit import events, record_quietly

    record_quietly(ws.audit, events.PROCEDURE_RECORD, action="U", user=ws.user, study_uid=study_uid,
                   detail={"what": what, "group": True, **detail})


def next_case(ws: "Workstation", *, lease: Optional[float] = None) -> "NextResult":
    """Claim the next case for this reader (pending report states are pushed first)."""
    from app.group import next_case as claim_next
    from app.group.queue import LEASE_SECONDS

    group = require(ws)
    sync(ws, quiet=True)
    result = claim_next(group.db, ws.user, lease=lease or LEASE_SECONDS)
    if result.claim is not None:
        _audit(ws, result.claim.study_uid, "group claim")
        start_lease_keeper(ws)  # this session now renews the reader's leases
    return result


def claim_for_reading(ws: "Workstation", study_uid: str) -> Optional[str]:
    """Opening a study from the list claims it in the group: None when this reader holds it now (or the group
    does not know the study, or cannot be reached: the local claim stands), else why not ("claimed by bob")."""
    group = session(ws)
    if group is None:
        return None
    from app.group import GroupError, GroupUnavailable
    from app.group.board import claim_study

    try:
        claim = claim_study(group.db, ws.user, study_uid, retry_for=QUICK_RETRY_S)
    except GroupUnavailable as exc:
        log.warning("group claim not made (the group database is unreachable): %s", exc)
        return None
    except GroupError as exc:
        return str(exc)
    if claim is not None:
        _audit(ws, study_uid, "group claim")
        start_lease_keeper(ws)
    return None


def held_by(ws: "Workstation", study_uids: Iterable[str]) -> "dict[str, str]":
    """Study UID -> the reader holding it in the group now (only the held ones; {} without a group or when
    the group cannot be reached)."""
    group = session(ws)
    if group is None:
        return {}
    from app.group import GroupError
    from app.group.board import board

    try:
        states = board(group.db, study_uids, retry_for=QUICK_RETRY_S)
    except GroupError as exc:
        log.warning("group claims not shown: %s", exc)
        return {}
    return {uid: held.claimed_by for uid, held in states.items() if held.claimed_by}


def with_group_claims(ws: "Workstation", entries: "list[WorklistEntry]") -> "list[WorklistEntry]":
    """The entries with the group's live claims as their "Claimed by" (a colleague's claim shows here)."""
    if session(ws) is None:
        return entries
    return apply_claims(entries, held_by(ws, (e.study_instance_uid for e in entries)), ws.user)


def apply_claims(entries: "list[WorklistEntry]", held: "dict[str, str]", me: str) -> "list[WorklistEntry]":
    """The entries as the group's claims ``held`` say: a held study in progress with its holder; a colleague's
    claim that ended shows unclaimed (this reader's own claims are the local worklist's)."""
    from dataclasses import replace

    from app.worklist import Status

    shown = []
    for entry in entries:
        holder = held.get(entry.study_instance_uid)
        if holder and (holder != entry.claimed_by or entry.status is not Status.IN_PROGRESS):
            entry = replace(entry, claimed_by=holder, status=Status.IN_PROGRESS)
        elif not holder and entry.claimed_by and entry.claimed_by != me:
            entry = replace(entry, claimed_by=None, status=Status.UNREAD)
        shown.append(entry)
    return shown


def release(ws: "Workstation", study_uid: str) -> "Claim":
    from app.group import release as give_back

    claim = give_back(require(ws).db, ws.user, study_uid)
    _audit(ws, study_uid, "group claim released")
    return claim


def handover(ws: "Workstation", study_uid: str, colleague: str) -> "Claim":
    from app.group import handover as pass_on

    claim = pass_on(require(ws).db, ws.user, study_uid, colleague)
    _audit(ws, study_uid, "group claim handed over", to=colleague)
    return claim


def report_signed(ws: "Workstation", report: "Report", *, preliminary: bool = False) -> None:
    """Queue the signed report's state locally (durable), then push it; an unreachable group keeps it queued."""
    group = session(ws)
    if group is None:
        return
    from app.group.reports import ReportState
    from app.reporting.model import ReportKind

    state = "preliminary" if preliminary else "addended" if report.kind == ReportKind.ADDENDUM else "final"
    signed_at = report.preliminary_signed_at if preliminary else report.signed_at
    group.pending.add(ReportState(report.id, report.study.study_uid, state, ws.user, signed_at or ""))
    sync(ws, quiet=True)


def sync(ws: "Workstation", *, quiet: bool = False) -> int:
    """Push the report states the group has not recorded yet; the count pushed. ``quiet``: an unreachable
    group is logged and they stay queued (else GroupUnavailable)."""
    group = session(ws)
    if group is None:
        return 0
    from app.group import GroupError
    from app.group.pending import push

    try:
        return push(group.pending, group.db, retry_for=QUICK_RETRY_S if quiet else None)
    except GroupError as exc:
        if not quiet:
            raise
        log.warning("report states kept for the group (%d waiting): %s", len(group.pending.items()), exc)
        return 0


def watch_worklist(ws: "Workstation", changed: Callable[[], None]) -> None:
    """Call ``changed()`` (from a thread) whenever another reader changes the shared worklist: a claim, a
    release, a publish, a report state (LISTEN/NOTIFY, app.group.live). Stops with the workstation."""
    group = session(ws)
    if group is None:
        return
    from app.group import live

    thread, stop = live.start(group.db.url, changed)
    group.watchers.append((thread, stop))


def start_lease_keeper(ws: "Workstation", *, every: Optional[float] = None) -> None:
    """Renew this reader's leases (and push waiting report states) every third of a lease, in a thread that
    stops with the workstation (started by the first claim of the session)."""
    group = session(ws)
    if group is None or group._keeper is not None:
        return
    from app.group.queue import LEASE_SECONDS

    period = every or LEASE_SECONDS / 3

    def keep() -> None:
        from app.group import GroupError, renew

        while not group._stop.wait(period):
            try:
                renew(group.db, ws.user, retry_for=QUICK_RETRY_S)
                sync(ws, quiet=True)
            except GroupError as exc:
                log.warning("group leases not renewed: %s", exc)

    group._keeper = threading.Thread(target=keep, name="group-leases", daemon=True)
    group._keeper.start()


def review_next(ws: "Workstation") -> Any:
    """Peer review: the next sampled colleague report this reader may score (None: none); audited."""
    from app.group.peer_review import offer

    found = offer(require(ws).db, ws.user)
    if found is not None:
        _audit(ws, found.study_uid, "peer review offered", report_id=found.report_id)
    return found


def review_score(ws: "Workstation", report_id: str, score: str, note: str = "") -> Any:
    """Record this reader's RADPEER score (1, 2a, 2b, 3a, 3b) of a report offered to them; audited."""
    from app.group.peer_review import score as record

    scored = record(require(ws).db, ws.user, report_id, score, note)
    _audit(ws, scored.study_uid, "peer review scored", report_id=report_id, score=score.strip().lower())
    return scored


def review_summary(ws: "Workstation") -> Any:
    """Per reader: reports sampled, reviewed, % concordant (score 1), counts per score."""
    from app.group.peer_review import summary

    return summary(require(ws).db)
