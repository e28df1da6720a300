"""The reading worklist: entries from the cache (and remote results), persisted reader state, rules."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from app.tasks import ProgressFn, check_cancel, report
from app.worklist import remote as remote_mod
from app.worklist.ai import NO_AI, AiMarks
from app.worklist.build import RuleSet, build_entry, iso
from app.worklist.db import DB_FILENAME, WorklistDB
from app.worklist.gcpause import gc_paused
from app.worklist.priors import priors_index
from app.worklist.rules import DEFAULT_PRIORITY_RULES, DEFAULT_SUBSPECIALTY_RULES, Rule, rules_from_json, rules_to_json
from app.worklist.status import check_transition, path_to
from app.worklist.types import (
    NO_ORDER, NO_REPORT, Clock, OrderMarks, Priority, ReportMarks, Status, WorklistConfig, WorklistEntry, utc_now,
)

if TYPE_CHECKING:
    from app.store import Cache

log = logging.getLogger(__name__)
_READING = attrgetter("_reading_key")  # the cached reading key, no method call per entry


class ClaimedError(RuntimeError):
    """The study is claimed by another reader."""


class Worklist:
    """Thread-safe worklist; mutations persist at once and return the updated entry."""

    def __init__(self, db: WorklistDB, *, clock: Clock = utc_now, marks: ReportMarks | None = None,
                 orders: OrderMarks | None = None, ai: AiMarks | None = None) -> None:
        self.db = db
        self.clock = clock
        self.marks = marks  # report status and flags per study (set by the workstation)
        self.orders = orders  # the RIS order (priority, clinical context) per study (set by the workstation)
        self.ai = ai  # suspected findings of AI results per study (set by the workstation)
        self._lock = threading.RLock()
        self._studies: dict[str, Any] = {}
        self._remote: set[str] = set()  # studies from remote results (the others are in the cache)
        self._priors: dict[str, tuple[str, ...]] = {}
        self._entries: dict[str, WorklistEntry] = {}
        self._behind: set[str] = set()
        self._built_with: tuple[Any, ...] | None = None  # (rules, states, fields) of the last _rebuild_all
        self._stale: set[str] = set()  # entries rebuilt one by one since (not from those inputs)
        self._listed: tuple[Any, Any] | None = None  # (the cache, its StudyListing) of the last refresh
        self._priors_of: list[Any] | None = None  # the listing self._priors was computed from (local only)
        self._priors_memo: dict[Any, Any] = {}  # patient -> (their studies, ranked priors): see priors_index
        self._built_from: tuple[Any, ...] = ()  # every input of the last _rebuild_all
        self._ordered: list[WorklistEntry] | None = None  # entries in reading order (cached)
        self._rules = self._load_rules()

    @classmethod
    def open(cls, home: Path, *, clock: Clock = utc_now, marks: ReportMarks | None = None,
             orders: OrderMarks | None = None, ai: AiMarks | None = None) -> "Worklist":
        """Open ``<home>/worklist.sqlite`` (``home`` may also be the file itself)."""
        home = Path(home)
        return cls(WorklistDB.open(home if home.suffix == ".sqlite" else home / DB_FILENAME), clock=clock,
                   marks=marks, orders=orders, ai=ai)

    def close(self) -> None:
        self.db.close()

    # -- rules and targets ------------------------------------------------------------------
    def _load_rules(self) -> RuleSet:
        cfg = self.db.setting("targets")
        pri = self.db.setting("priority_rules")
        sub = self.db.setting("subspecialty_rules")
        return RuleSet(WorklistConfig.from_json(cfg) if cfg else WorklistConfig(),
                       rules_from_json(pri) if pri is not None else DEFAULT_PRIORITY_RULES,
                       rules_from_json(sub) if sub is not None else DEFAULT_SUBSPECIALTY_RULES)

    @property
    def config(self) -> WorklistConfig:
        return self._rules.config

    @property
    def priority_rules(self) -> tuple[Rule, ...]:
        return self._rules.priority_rules

    @property
    def subspecialty_rules(self) -> tuple[Rule, ...]:
        return self._rules.subspecialty_rules

    def set_config(self, config: WorklistConfig) -> None:
        self.db.set_setting("targets", config.to_json())
        self._reload_rules()

    def set_priority_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the site priority rules (persisted; entries are rebuilt)."""
        self.db.set_setting("priority_rules", rules_to_json(list(rules)))
        self._reload_rules()

    def set_subspecialty_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the subspecialty rules (ordered, first match wins; persisted)."""
        self.db.set_setting("subspecialty_rules", rules_to_json(list(rules)))
        self._reload_rules()

    def _reload_rules(self) -> None:
        with self._lock:
            self._rules = self._load_rules()
            self._rebuild_all()

    # -- loading ----------------------------------------------------------------------------
    def refresh(self, cache: "Cache", remote: Iterable[Any] | None = None, remote_priors: Iterable[Any] | None = None,
                *, progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> list[WorklistEntry]:
        """Reload from the cache plus remote results (``remote``: studies to read from polled nodes;
        ``remote_priors``: studies found by prior queries, reference only). Returns the reading order."""
        with gc_paused():
            return self._refresh(cache, remote, remote_priors, progress, cancel)

    def _refresh(self, cache: "Cache", remote: Iterable[Any] | None, remote_priors: Iterable[Any] | None,
                 progress: ProgressFn | None, cancel: threading.Event | None) -> list[WorklistEntry]:
        local, same = self._list_local(cache)
        remote_list, prior_list = remote_mod.collect(remote), remote_mod.collect(remote_priors)
        if remote_list or prior_list:
            local_uids = {s.study_instance_uid for s in local}
            remote_list = [s for s in remote_list if s.study_instance_uid not in local_uids]
            prior_list = [s for s in prior_list if s.study_instance_uid not in local_uids]
        remote_uids = {s.study_instance_uid for s in [*prior_list, *remote_list]}
        studies = {s.study_instance_uid: s for s in [*prior_list, *remote_list, *local]}
        check_cancel(cancel)  # request fields: the summaries carry them (the index has since schema v3)
        report(progress, len(local), len(local), "studies from the index")
        if not same or remote_list or prior_list:  # the studies listed last time have their state already
            self._first_sight({uid: s for uid, s in studies.items() if uid not in self._studies},
                              {s.study_instance_uid for s in prior_list}, remote_uids)
        with self._lock:
            self._studies, self._remote = studies, remote_uids
            if not (same and self._priors_of is local and not remote_list and not prior_list):
                self._priors = priors_index(list(studies.values()), self._priors_memo)
                self._priors_of = local if not remote_list and not prior_list else None
            self._rebuild_all()
            return self.entries()

    def first_page(self, cache: "Cache", limit: int = 200, *,
                   cancel: threading.Event | None = None) -> list[WorklistEntry]:
        """The first ``limit`` entries of the reading order without building the others (the window's cold
        start shows them while :meth:`refresh` runs); nothing is recorded (app.worklist.first_page)."""
        from app.worklist.first_page import first_page

        with gc_paused():
            return first_page(self, cache, limit, cancel)

    def _list_local(self, cache: "Cache") -> tuple[list[Any], bool]:
        """The cache's studies, and whether they are those of the last refresh. A cache with
        ``study_listing`` re-reads only the studies changed since (the others keep their summary objects,
        so their entries and priors are reused); else every study is listed."""
        listing = getattr(cache, "study_listing", None)
        if listing is None:
            self._listed = None
            return list(cache.list_studies()), False
        last = self._listed[1] if self._listed is not None and self._listed[0] is cache else None
        now = listing(last)
        self._listed = (cache, now)
        return now.studies, now is last

    def track(self, cache: "Cache", study_uid: str) -> WorklistEntry | None:
        """Put one cached study on the worklist without listing the whole cache (None if not cached)."""
        summary = cache.get_study(study_uid)
        if summary is None:
            return self.entry(study_uid)
        self._first_sight({study_uid: summary}, set(), set())
        with self._lock:
            self._studies[study_uid] = summary
            self._remote.discard(study_uid)
            return self._rebuild(study_uid)

    def _first_sight(self, studies: dict[str, Any], reference: set[str], remote: set[str]) -> None:
        """Record studies never seen: arrival = time received (else now). A cached study with a received time
        needs no state row (unread since then: a missing row reads so in build_entry and first_page; it is
        written when a reader first changes the study, see ``_put_state``); the others get theirs now."""
        todo = {uid: s for uid, s in studies.items() if uid in reference or uid in remote or not s.received}
        if not todo:
            return
        states = self.db.uids_among("state", list(todo))
        rows = [self._first_row(uid, s, uid in reference) for uid, s in todo.items() if uid not in states]
        if rows:
            self.db.insert_states(rows)

    def _first_row(self, uid: str, study: Any, reference: bool = False) -> dict[str, Any]:
        now = iso(self.clock())
        return {"study_uid": uid, "status": Status.UNREAD.value, "arrival": getattr(study, "received", "") or now,
                "reference": int(reference), "updated_at": now}

    def _put_state(self, study_uid: str, **values: Any) -> None:
        """Update the study's state row, first writing the row it was seen with if it has none yet."""
        self.db.put_state(study_uid, self._first_row(study_uid, self._studies.get(study_uid)), **values)

    def _rebuild_all(self) -> None:
        states = self.db.states()
        need_rows = any(not hasattr(s, "requested_procedure_priority") for s in self._studies.values())
        fields = self.db.request_fields() if need_rows else {}
        marks = self.marks(None) if self.marks is not None else {}
        orders = self.orders(list(self._studies.values())) if self.orders is not None else {}
        ai = self.ai(None) if self.ai is not None else {}
        everything = (self._rules, tuple(self._studies.values()), self._remote, states, fields, marks, orders, ai,
                      self._priors)
        if everything == self._built_from and len(self._entries) == len(self._studies):
            return  # nothing changed since the last rebuild: keep every entry (and the reading order)
        self._built_from, self._ordered = everything, None
        # entries are pure functions of their inputs (build_entry's keywords): a refresh rebuilds only the studies
        # whose summary, state, report, order... changed; unchanged state rows are the same objects
        # (WorklistDB.states), an entry holds its summary, priors and marks
        last, rules, remote, priors, old = self._built_with, self._rules, self._remote, self._priors, self._entries
        if last is None or last[0] != rules:
            old, last = {}, (rules, {}, {})
        last_states, last_fields, stale, built = last[1], last[2], self._stale, {}
        no_state: dict[str, Any] = {}
        if not old and not (fields or marks or orders or ai):  # a first build (the usual 100,000 new studies)
            self._entries = {uid: build_entry(s, local=uid not in remote, state=states.get(uid, no_state),
                                              fields_row=None, rules=rules, priors=priors.get(uid, ()))
                             for uid, s in self._studies.items()}
            self._built_with, self._stale, self._behind = (rules, states, fields), set(), set()
            return
        for uid, s in self._studies.items():
            state, row, p = states.get(uid, no_state), fields.get(uid), priors.get(uid, ())
            report, order, mark = marks.get(uid, NO_REPORT), orders.get(uid, NO_ORDER), ai.get(uid, NO_AI)
            e = old.get(uid)
            if (e is None or uid in stale or not (e.study is s or e.study == s) or e.local == (uid in remote)
                    or last_states.get(uid, no_state) != state or last_fields.get(uid) != row or e.priors != p
                    or e.report != report or e.order != order or e.ai != mark):
                e = build_entry(s, local=uid not in remote, state=state, fields_row=row, rules=rules, priors=p,
                                report=report, order=order, ai=mark)
            built[uid] = e
        self._entries, self._built_with, self._stale = built, (rules, states, fields), set()
        # entries whose status comes from their report, ahead of what the worklist DB has recorded
        self._behind = {uid for uid, e in self._entries.items() if e.report.status and
                        e.status.value != (states.get(uid, {}).get("status") or "unread")} if marks else set()

    def behind_reports(self) -> list[str]:
        """Studies whose shown status (from their signed report) the worklist DB has not recorded yet."""
        with self._lock:
            return sorted(self._behind)

    def _rebuild(self, uid: str) -> WorklistEntry:
        marks = self.marks([uid]) if self.marks is not None else {}
        orders = self.orders([self._studies[uid]]) if self.orders is not None else {}
        ai = self.ai([uid]) if self.ai is not None else {}
        entry = build_entry(self._studies[uid], local=uid not in self._remote, state=self.db.state(uid) or {},
                            fields_row=self.db.request_field(uid), rules=self._rules,
                            priors=self._priors.get(uid, ()), report=marks.get(uid, NO_REPORT),
                            order=orders.get(uid, NO_ORDER), ai=ai.get(uid, NO_AI))
        self._entries[uid] = entry
        self._stale.add(uid)
        self._ordered, self._built_from = None, ()
        self._behind.discard(uid)
        if entry.report.status and entry.status is not self.recorded_status(uid):
            self._behind.add(uid)
        return entry

    def remark(self, study_uid: str) -> WorklistEntry | None:
        """Rebuild one entry after its report changed (status, critical flag, delivery)."""
        with self._lock:
            return self._rebuild(study_uid) if study_uid in self._studies else None

    # -- reading ----------------------------------------------------------------------------
    def entries(self) -> list[WorklistEntry]:
        """All entries in reading order (to read first; STAT first; least time to breach first)."""
        with self._lock:
            if self._ordered is None:
                self._ordered = sorted(self._entries.values(), key=_READING)  # WorklistEntry.reading_key
            return list(self._ordered)

    def entry(self, study_uid: str) -> WorklistEntry | None:
        with self._lock:
            return self._entries.get(study_uid)

    def history(self, study_uid: str) -> list[dict[str, Any]]:
        return self.db.history(study_uid)

    def _require(self, study_uid: str) -> WorklistEntry:
        entry = self._entries.get(study_uid)
        if entry is None:
            raise KeyError(f"study {study_uid} is not on the worklist")
        return entry

    # -- changes ----------------------------------------------------------------------------
    def set_status(self, study_uid: str, status: Status | str, user: str, *, force: bool = False) -> WorklistEntry:
        """One legal status step (raises IllegalTransition / ClaimedError); claims on start, releases on unread."""
        new = Status(status)
        with self._lock:
            entry = self._require(study_uid)
            old = self.recorded_status(study_uid)
            check_transition(old, new)
            if entry.claimed_by and entry.claimed_by != user and not force:
                raise ClaimedError(f"claimed by {entry.claimed_by}")
            now = iso(self.clock())
            values: dict[str, Any] = {"status": new.value, "status_at": now, "updated_at": now}
            if new is Status.IN_PROGRESS:
                values.update(claimed_by=user, claimed_at=now)
            elif new is Status.UNREAD:
                values.update(claimed_by=None, claimed_at=None)
            if new in (Status.PRELIMINARY, Status.FINAL) and entry.reported_at is None:
                values["reported_at"] = now
            with self.db.lock, self.db.transaction():
                self._put_state(study_uid, **values)
                self.db.add_history(study_uid, now, user, "status", old.value, new.value)
            return self._rebuild(study_uid)

    def mark_amended(self, study_uid: str, user: str) -> WorklistEntry:
        """A signed addendum: final (reaching it through legal steps first) -> amended."""
        with self._lock:
            self.mark_read(study_uid, user, force=True)
            return self.set_status(study_uid, Status.AMENDED, user, force=True)

    def recorded_status(self, study_uid: str) -> Status:
        """The status recorded in the worklist database (the entry may show more: see ``reading_status``)."""
        row = self.db.state(study_uid)
        return Status((row or {}).get("status") or "unread")

    def start_reading(self, study_uid: str, user: str) -> WorklistEntry:
        """Claim and mark in progress (from unread or preliminary)."""
        return self.set_status(study_uid, Status.IN_PROGRESS, user)

    def mark_read(self, study_uid: str, user: str, *, force: bool = False) -> WorklistEntry:
        """Bring the study to final through legal steps (unread -> in progress -> final)."""
        with self._lock:
            entry = self._require(study_uid)
            recorded = self.recorded_status(study_uid)
            if recorded in (Status.FINAL, Status.AMENDED):
                return entry
            for step in path_to(recorded, Status.FINAL):
                entry = self.set_status(study_uid, step, user, force=force)
            return entry

    def claim(self, study_uid: str, user: str, *, force: bool = False) -> WorklistEntry:
        """Claim for ``user`` (refused if another reader holds it, unless ``force``)."""
        with self._lock:
            entry = self._require(study_uid)
            if entry.claimed_by == user:
                return entry
            if entry.claimed_by and not force:
                raise ClaimedError(f"claimed by {entry.claimed_by}")
            now = iso(self.clock())
            with self.db.lock, self.db.transaction():
                self._put_state(study_uid, claimed_by=user, claimed_at=now, updated_at=now)
                self.db.add_history(study_uid, now, user, "claim", entry.claimed_by or "", user)
            return self._rebuild(study_uid)

    def release(self, study_uid: str, user: str) -> WorklistEntry:
        """Drop ``user``'s claim; an in-progress study goes back to unread."""
        with self._lock:
            entry = self._require(study_uid)
            if entry.status is Status.IN_PROGRESS:
                return self.set_status(study_uid, Status.UNREAD, user)
            if entry.claimed_by and entry.claimed_by != user:
                raise ClaimedError(f"claimed by {entry.claimed_by}")
            now = iso(self.clock())
            with self.db.lock, self.db.transaction():
                self._put_state(study_uid, claimed_by=None, claimed_at=None, updated_at=now)
                self.db.add_history(study_uid, now, user, "release", entry.claimed_by or "", "")
            return self._rebuild(study_uid)

    def set_priority(self, study_uid: str, priority: Priority | str | None, user: str) -> WorklistEntry:
        """Reader override (None returns to header/rule priority); the clock target follows."""
        value = None if priority is None else Priority.parse(priority if isinstance(priority, str) else priority.value)
        with self._lock:
            entry = self._require(study_uid)
            now = iso(self.clock())
            with self.db.lock, self.db.transaction():
                self._put_state(study_uid, priority_override=value.value if value else None, updated_at=now)
                self.db.add_history(study_uid, now, user, "priority", entry.priority.value,
                                    value.value if value else "")
            return self._rebuild(study_uid)

    def set_reference(self, study_uid: str, reference: bool = True) -> WorklistEntry:
        """Mark a study as a prior only (no clock, sorted last) or back to a study to read."""
        with self._lock:
            self._require(study_uid)
            self._put_state(study_uid, reference=int(reference), updated_at=iso(self.clock()))
            return self._rebuild(study_uid)

    def forget(self, study_uid: str, user: str = "") -> None:
        """Drop a study (deleted from the cache): its state goes, its history stays."""
        with self._lock:
            now = iso(self.clock())
            with self.db.lock, self.db.transaction():
                self.db.forget(study_uid)
                self.db.add_history(study_uid, now, user, "forget", "", "")
            self._entries.pop(study_uid, None)
            self._ordered, self._built_from = None, ()
            self._studies.pop(study_uid, None)
            self._remote.discard(study_uid)
            for uid, priors in list(self._priors.items()):
                if study_uid in priors:
                    self._priors[uid] = tuple(p for p in priors if p != study_uid)
                    if uid in self._entries:
                        self._entries[uid] = replace(self._entries[uid], priors=self._priors[uid])
