"""The first page of the reading order at cold start, without building every entry.

One index query gives the few columns the reading key depends on (request fields, rule facts, arrival);
the key of each study is computed from them (the rules are memoised on their inputs, so a study costs a
tuple and a dict lookup), the ``limit`` smallest keys are kept, and only those studies get a full entry,
built exactly as :meth:`Worklist.refresh` builds it (same summary, state, marks, priors). The window shows
this page while the full refresh runs in the background.
"""

from __future__ import annotations

import heapq
import threading
from collections import namedtuple
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

from app.tasks import check_cancel
from app.worklist.ai import NO_AI, ai_clock_start
from app.worklist.build import RuleSet, _decide, _parse_shared, build_entry, facts_of, index_fields, reading_status
from app.worklist.priors import priors_index
from app.worklist.types import NO_ORDER, NO_REPORT, Priority, Status, WorklistEntry

if TYPE_CHECKING:
    from app.store import Cache
    from app.worklist.model import Worklist

_KEY_SQL = """
SELECT st.study_uid, st.received, st.requested_procedure_priority, st.study_priority_id, st.patient_age,
       st.requesting_service, st.modalities, st.body_part, st.description, st.referring_physician,
       st.source_node, st.institution, p.birth_date, st.study_date
FROM studies st JOIN patients p ON p.id = st.patient_ref
WHERE st.deleting = 0
"""  # the columns the reading key depends on, in KeyRow's order
_MORE_SQL = """
SELECT st.study_uid, st.received, st.requested_procedure_priority, st.study_priority_id, st.patient_age,
       st.requesting_service, st.modalities, st.body_part, st.description, st.referring_physician,
       st.source_node, st.institution, p.birth_date, st.study_date, st.study_time, p.patient_id, p.issuer,
       st.accession
FROM studies st JOIN patients p ON p.id = st.patient_ref
WHERE st.deleting = 0 {where}
"""  # and what orders and priors match on
# a study under StudySummary's attribute names (what rules, orders and priors read)
KeyRow = namedtuple("KeyRow", "study_instance_uid received requested_procedure_priority study_priority_id "
                              "patient_age requesting_service modalities body_part description referring_physician "
                              "source_node institution patient_birth_date study_date study_time patient_id "
                              "issuer_of_patient_id accession", defaults=("", "", "", ""))
_STATE_SQL = "SELECT study_uid, status, arrival, priority_override, reference FROM state"
_ACTIVE = (Status.UNREAD, Status.IN_PROGRESS)
_STATUS = {s.value: s for s in Status}
_RANK = {p: p.rank for p in Priority}
_MODS: dict[Any, tuple[str, ...]] = {}


def _row(raw: tuple[Any, ...]) -> KeyRow:
    mods = _MODS.get(raw[6])
    if mods is None:
        mods = _MODS[raw[6]] = tuple(m for m in (raw[6] or "").split("\\") if m)
    return KeyRow(raw[0], *(v or "" for v in raw[1:6]), mods, *(v or "" for v in raw[7:]))


def _key_rows(cache: "Cache") -> list[tuple[Any, ...]]:
    with cache.lock:
        return cache.db.execute(_KEY_SQL).fetchall()


def _rows_where(cache: "Cache", where: str = "", args: list[Any] | None = None) -> list[KeyRow]:
    with cache.lock:
        return [_row(r) for r in cache.db.execute(_MORE_SQL.format(where=where), args or []).fetchall()]


def _states(worklist: "Worklist") -> dict[str, tuple[Any, ...]]:
    with worklist.db.lock:
        return {r[0]: r for r in worklist.db.db.execute(_STATE_SQL).fetchall()}


def reading_keys(rows: list[tuple[Any, ...]], states: dict[str, tuple[Any, ...]], rules: RuleSet, marks: Any,
                 orders: Any, ai: Any, now: datetime, cancel: threading.Event | None = None) -> list[tuple]:
    """The reading key of every study (``WorklistEntry.reading_key``), from its :data:`_KEY_SQL` row. The
    rules are decided once per distinct input and the due time once per (arrival, target)."""
    decisions: dict[tuple, tuple[Priority, str, Any, str]] = {}
    dues: dict[tuple, datetime] = {}
    none: tuple[Any, ...] = (None, None, None, None, None)
    stat, keys, get_state, parse, unread = Priority.STAT, [], states.get, _parse_shared, Status.UNREAD
    for n, raw in enumerate(rows):
        if n % 8192 == 0:
            check_cancel(cancel)
        uid = raw[0]
        state = get_state(uid, none)
        order = orders[uid].priority if orders and uid in orders else ""
        mark = ai.get(uid, NO_AI) if ai else NO_AI
        k = raw[2:] if state[3] is None and not order and mark is NO_AI else \
            (state[3], raw[2:], order, None if mark is NO_AI else mark)
        decided = decisions.get(k)
        if decided is None:
            row = _row(raw)
            fields = index_fields(row)
            decided = decisions[k] = _decide(rules, state[3], fields, facts_of(row, fields), order, mark)
        priority, source, target, _sub = decided
        if source == "ai":
            due = ai_clock_start(mark, parse(state[2] or raw[1]) or now) + target
        else:
            dk = (state[2] or raw[1], target)
            due = dues.get(dk)
            if due is None:
                due = dues[dk] = (parse(dk[0]) or now) + target
        if state is none and not marks:
            to_read = 0
        else:
            status = _STATUS.get(state[1] or "unread", unread)
            if marks and uid in marks:
                status = reading_status(status, marks[uid])
            to_read = 0 if status in _ACTIVE and not state[4] else 1
        keys.append((to_read, 0 if priority is stat else 1, due, _RANK[priority], uid))
    return keys


def first_page(worklist: "Worklist", cache: "Cache", limit: int = 200,
               cancel: threading.Event | None = None) -> list[WorklistEntry]:
    """The first ``limit`` entries of the reading order of the cached studies (what ``refresh`` would put
    first, remote studies aside), in that order; nothing is written."""
    rows = _key_rows(cache)
    states = _states(worklist)
    marks = worklist.marks(None) if worklist.marks is not None else {}
    orders = worklist.orders(_lazy(cache)) if worklist.orders is not None else {}
    ai = worklist.ai(None) if worklist.ai is not None else {}
    keys = reading_keys(rows, states, worklist._rules, marks, orders, ai, datetime.now(timezone.utc), cancel)
    top = [key[-1] for key in heapq.nsmallest(limit, keys)]  # keys end with the (unique) study UID
    check_cancel(cancel)
    summaries = [s for s in (cache.get_study(uid) for uid in top) if s is not None]  # None: deleted meanwhile
    priors = priors_index(_same_patients(cache, {s.patient_id for s in summaries if s.patient_id}))
    entries = []
    for summary in summaries:
        uid = summary.study_instance_uid
        state = worklist.db.state(uid) or {"status": Status.UNREAD.value, "arrival": summary.received or None}
        entries.append(build_entry(summary, local=True, state=state, fields_row=None, rules=worklist._rules,
                                   priors=priors.get(uid, ()), report=marks.get(uid, NO_REPORT),
                                   order=orders.get(uid, NO_ORDER), ai=ai.get(uid, NO_AI)))
    return sorted(entries, key=WorklistEntry.reading_key)


def _same_patients(cache: "Cache", patient_ids: set[str]) -> list[KeyRow]:
    """The studies of these patients: priors are of the same patient, so these give the page's priors."""
    ids, out = sorted(patient_ids), []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        out += _rows_where(cache, f"AND p.patient_id IN ({','.join('?' * len(chunk))})", chunk)
    return out


def _lazy(cache: "Cache") -> Iterator[KeyRow]:
    """Every study's :class:`KeyRow`, queried only if iterated (the order store exists)."""
    yield from _rows_where(cache)
