"""Retention purge: the site's rule (app.workstation.retention) applied to every study, by ``telerad purge``
and by the daily run the workstation owns (started by the window and by ``telerad listen``). Each purged
study goes through the delete use case (audited 110105 D, with the rule's reason); afterwards every open
database is checkpointed (WAL truncated) so no copy of a deleted row stays in a ``-wal`` file."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from app.tasks import Cancelled, ProgressFn, check_cancel, report
from app.workstation.retention import Decision, RetentionRule, StudyFacts, decide, load_rule

if TYPE_CHECKING:
    from app.workstation.workstation import Workstation

log = logging.getLogger(__name__)
SCHEDULE = "purge_schedule"
DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class PurgeItem:
    study_uid: str
    decision: Decision


@dataclass
class PurgeResult:
    """What a purge removed (or would, on a dry run) and what it kept, each with the rule's reason."""

    now: datetime
    dry_run: bool
    purged: list[PurgeItem] = field(default_factory=list)
    kept: list[PurgeItem] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (study uid, error)


def purge(ws: "Workstation", *, now: Optional[datetime] = None, dry_run: bool = False, command: str = "purge",
          rule: Optional[RetentionRule] = None, progress: Optional[ProgressFn] = None,
          cancel: Optional[threading.Event] = None) -> PurgeResult:
    """Apply the retention rule at ``now`` (default: the clock) to every study of the data dir."""
    from app.clock import utc_now

    rule = rule or load_rule(ws.paths.config_dir)
    result = PurgeResult(now or utc_now(), dry_run)
    facts = study_facts(ws, with_access=rule.unreported_days_after_access is not None)
    for n, fact in enumerate(facts, 1):
        check_cancel(cancel)
        item = PurgeItem(fact.study_uid, decide(fact, rule, result.now))
        if not item.decision.purges:
            result.kept.append(item)
        elif dry_run or _apply(ws, item, command, result):
            result.purged.append(item)
        report(progress, n, len(facts), "purge")
    if result.purged and not dry_run:
        checkpoint_all(ws)
    return result


def _apply(ws: "Workstation", item: PurgeItem, command: str, result: PurgeResult) -> bool:
    signed = "purge" if item.decision.reports else "keep"
    try:
        ws.delete_study(item.study_uid, command=command, signed=signed, detail={"retention": item.decision.why})
    except Exception as exc:  # noqa: BLE001 - one study's failure must not stop the others' purge
        log.warning("purge of study %s failed: %s", item.study_uid, exc)
        result.failed.append((item.study_uid, str(exc)[:300]))
        return False
    return True


def study_facts(ws: "Workstation", *, with_access: bool = True) -> list[StudyFacts]:
    """What the rule needs for every study of the cache and every study with a report."""
    from app.reporting.model import ReportState

    cached = {s.study_instance_uid: s for s in ws.cache.list_studies()}
    store = ws.report_store
    states = ws.worklist.db.states()
    access = _last_access(ws) if with_access else {}
    facts = []
    reported = store.study_uids()
    for uid in sorted(set(cached) | reported):
        reports = store.for_study(uid) if uid in reported else []
        signed = tuple(r.id for r in reports if r.state == ReportState.FINAL)
        sent = [store.delivered_at(rid) for rid in signed]
        state = states.get(uid) or {}
        seen = [getattr(cached.get(uid), "received", ""), access.get(uid, ""),
                *(state.get(k) or "" for k in ("claimed_at", "status_at", "updated_at"))]
        facts.append(StudyFacts(uid, uid in cached, len(reports) - len(signed), signed,
                                _latest(sent) if sent and all(sent) else None, _latest(seen),
                                str(state.get("claimed_by") or "") if state.get("status") == "in_progress" else ""))
    return facts


def _last_access(ws: "Workstation") -> dict[str, str]:
    """study uid -> time of its newest audit event (opened, viewed, retrieved, imported, sent)."""
    audit = ws.audit
    with audit._lock:
        rows = audit._conn.execute("SELECT study_uid, max(time) FROM events WHERE study_uid IS NOT NULL "
                                   "GROUP BY study_uid").fetchall()
    return {uid: str(time) for uid, time in rows}


def _latest(times: list[str]) -> Optional[datetime]:
    from app.clock import parse_iso

    parsed = []
    for text in filter(None, times):
        try:
            parsed.append(parse_iso(text))
        except ValueError:  # an unreadable time counts as no access
            continue
    return max(parsed) if parsed else None


def checkpoint_all(ws: "Workstation") -> list[str]:
    """``wal_checkpoint(TRUNCATE)`` on every open database of the workstation (the deleted rows' old pages
    leave the ``-wal`` files; secure_delete zeroed them in the main files); the ones not fully checkpointed
    (a reader held an old snapshot) are named in the returned list."""
    busy = []
    for name, db, lock in _databases(ws):
        with lock:
            row = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if row and row[0]:
            busy.append(name)
    if busy:
        log.warning("purge: WAL not fully checkpointed for %s (a reader was active)", ", ".join(busy))
    return busy


def _databases(ws: "Workstation") -> list[tuple[str, Any, Any]]:
    from app.workstation import ai

    services = dict(ws._services)
    found = []
    if "cache" in services:
        found.append(("cache", services["cache"].db, services["cache"].lock))
    for name, attr in (("reports", "db"), ("orders", "db"), (ai.AI_SERVICE, "db")):
        if name in services:
            found.append((name, getattr(services[name], attr), services[name]._lock))
    if "worklist" in services:
        wl = services["worklist"].db
        found.append(("worklist", wl.db, wl.lock))
    if "audit" in services:
        found.append(("audit", services["audit"].db, services["audit"]._lock))
    return found


class PurgeSchedule:
    """The daily purge: a daemon thread running :func:`purge` ``first_delay_s`` after the start, then every
    ``interval_s``, while the rule says ``daily``; :meth:`stop` ends it (a running purge finishes its study)."""

    def __init__(self, ws: "Workstation", *, first_delay_s: float = 60.0, interval_s: float = DAY_S) -> None:
        self.ws, self.first_delay_s, self.interval_s = ws, first_delay_s, interval_s
        self._stop = threading.Event()
        self.last: Optional[PurgeResult] = None
        self.last_error: Optional[str] = None
        self.runs = 0
        self._thread = threading.Thread(target=self._run, name="telerad-purge", daemon=True)

    def start(self) -> "PurgeSchedule":
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = self.first_delay_s
        while not self._stop.wait(delay):
            delay = self.interval_s
            try:
                if load_rule(self.ws.paths.config_dir).daily:
                    self.last = purge(self.ws, command="purge (daily)", cancel=self._stop)
                    self.last_error = None
                    log.info("daily purge: %d studies purged, %d kept", len(self.last.purged), len(self.last.kept))
            except Cancelled:
                return
            except Exception as exc:  # noqa: BLE001 - the next day tries again; the window keeps running
                self.last_error = str(exc)[:300]
                log.error("daily purge failed: %s", self.last_error)
            self.runs += 1


def start_schedule(ws: "Workstation", *, first_delay_s: float = 60.0, interval_s: float = DAY_S) -> PurgeSchedule:
    """Start (or return the running) daily purge of the workstation; stopped by ``Workstation.close``."""
    return ws._service(SCHEDULE, lambda: PurgeSchedule(ws, first_delay_s=first_delay_s,
                                                       interval_s=interval_s).start())
