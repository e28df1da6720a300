"""Turn study summaries + persisted state + rules into worklist entries (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Any, Mapping, Sequence

from app.worklist.ai import NO_AI, AiMark, ai_clock_start
from app.worklist.header import RequestFields, age_from_dates, age_from_header, header_priority
from app.worklist.priors import site_of
from app.worklist.rules import FALLBACK_SUBSPECIALTY, Facts, Rule, all_matches, first_match
from app.worklist.types import (
    NO_ORDER, NO_REPORT, Decision, EntryMarks, OrderMark, Priority, ReportMark, Status, WorklistConfig, WorklistEntry,
)


@dataclass(frozen=True)
class RuleSet:
    """The rules and targets entries are built with."""

    config: WorklistConfig
    priority_rules: tuple[Rule, ...]
    subspecialty_rules: tuple[Rule, ...]


_MEMO: dict[tuple[int, Facts], Any] = {}  # (id of a rules tuple, facts) -> matches; rules tuples are kept alive
_KEEP: dict[int, Sequence[Rule]] = {}  # ... here, so an id is never reused while memoised


def _memo(kind: int, rules: Sequence[Rule], facts: Facts, compute: Any) -> Any:
    """Memoised rule matching: many studies share their facts (modality, body part, site, age...)."""
    key = (id(rules) * 2 + kind, facts)
    try:
        return _MEMO[key]
    except KeyError:
        pass
    if len(_MEMO) > 200_000:
        _MEMO.clear()
        _KEEP.clear()
    _KEEP[id(rules)] = rules
    value = _MEMO[key] = compute(rules, facts)
    return value


def _all_matches(rules: Sequence[Rule], facts: Facts) -> tuple[Rule, ...]:
    return _memo(0, rules, facts, lambda r, f: tuple(all_matches(r, f)))  # type: ignore[no-any-return]


def _first_match(rules: Sequence[Rule], facts: Facts) -> Rule | None:
    return _memo(1, rules, facts, first_match)  # type: ignore[no-any-return]


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 text as an aware datetime (naive taken as UTC), or None."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat(timespec="seconds")


def index_fields(study: Any) -> RequestFields:
    """The request fields a study summary from the cache index carries ('' when absent); one shared object
    per distinct value (a frozen dataclass is slow to construct, and most studies share theirs)."""
    key = (getattr(study, "requested_procedure_priority", "") or "", getattr(study, "study_priority_id", "") or "",
           getattr(study, "patient_age", "") or "", getattr(study, "requesting_service", "") or "")
    found = _FIELDS.get(key)
    if found is None:
        if len(_FIELDS) > 50_000:
            _FIELDS.clear()
        found = _FIELDS[key] = RequestFields(*key)
    return found


_FIELDS: dict[tuple[str, str, str, str], RequestFields] = {}


def request_fields(row: Mapping[str, Any] | None, study: Any = None) -> RequestFields:
    """The study's own index fields when it has them (a cached study), else the recorded row."""
    if study is not None and hasattr(study, "requested_procedure_priority"):
        return index_fields(study)
    if not row or not row.get("found"):
        return RequestFields()
    return RequestFields(row.get("requested_procedure_priority") or "", row.get("study_priority_id") or "",
                         row.get("patient_age") or "", row.get("requesting_service") or "")


def facts_of(study: Any, fields: RequestFields) -> Facts:
    age = age_from_dates(study.patient_birth_date, study.study_date)
    if age is None:
        age = age_from_header(fields.patient_age)
    return Facts(tuple(study.modalities), study.body_part or "", study.description or "",
                 fields.requesting_service, study.referring_physician or "", site_of(study), age)


# an order's priority (HL7 ORC-7/TQ1-9 folded by app.orders) -> reading priority
_ORDER_PRIORITY = {"STAT": Priority.STAT, "ASAP": Priority.URGENT, "ROUTINE": Priority.ROUTINE}


def order_priority(text: str) -> Priority | None:
    """The reading priority of an order's STAT / ASAP / ROUTINE (None: no order or unknown)."""
    return _ORDER_PRIORITY.get((text or "").strip().upper())


def choose_priority(override: str | None, fields: RequestFields, facts: Facts,
                    rules: Sequence[Rule], order: str = "", ai: AiMark = NO_AI) -> tuple[Priority, str]:
    """Reader override wins; else the most urgent of header, order (``order``: its STAT/ASAP/ROUTINE) and
    site rules (never under-prioritise), STAT when an AI result suspects a critical finding (``ai``); the
    source is reader, header, order, ai, rule or default."""
    if override:
        return Priority.parse(override), "reader"
    found: list[tuple[Priority, str]] = []
    from_header = header_priority(fields)
    if from_header is not None:
        found.append((from_header, "header"))
    from_order = order_priority(order)
    if from_order is not None:
        found.append((from_order, "order"))
    for rule in _all_matches(rules, facts):
        try:
            found.append((Priority.parse(rule.result), "rule"))
        except ValueError:
            continue
    if ai.findings and ai.raising:  # an AI-suspected critical finding; last: a study STAT already
        found.append((Priority.STAT, "ai"))  # keeps its source and clock (min keeps the first of equals)
    if not found:
        return Priority.ROUTINE, "default"
    return min(found, key=lambda pair: pair[0].rank)


def subspecialty(facts: Facts, rules: Sequence[Rule]) -> str:
    rule = _first_match(rules, facts)
    return rule.result if rule is not None else FALLBACK_SUBSPECIALTY


def reading_status(recorded: Status, report: ReportMark) -> Status:
    """The status shown: the recorded one, unless the report store says more. A signed report makes the study
    final and a signed addendum amended in the same transaction that signs them (the report store's)."""
    if report.status == "addended":
        return Status.AMENDED
    if report.status == "final" and recorded not in (Status.FINAL, Status.AMENDED):
        return Status.FINAL
    return recorded


def build_entry(study: Any, *, local: bool, state: Mapping[str, Any], fields_row: Mapping[str, Any] | None,
                rules: RuleSet, priors: tuple[str, ...], report: ReportMark = NO_REPORT,
                order: OrderMark = NO_ORDER, ai: AiMark = NO_AI) -> WorklistEntry:
    """One entry; ``state`` is the persisted row, empty for a study seen but never changed by a reader
    (unread since its arrival, the time the cache received it: see ``Worklist._first_sight``)."""
    if state:
        get = state.get
        override, arrival_text, reported_text = get("priority_override"), get("arrival"), get("reported_at")
        reference, claimed = bool(get("reference")), get("claimed_by") or None
        status = _STATUS.get(get("status") or "unread") or Status(get("status"))
    else:  # seen, never changed: unread since the cache received it
        override = arrival_text = reported_text = claimed = None
        reference, status = False, Status.UNREAD
    decision = _decision(rules, study, fields_row, override, order.priority, ai)
    arrival = _parse_shared(arrival_text or getattr(study, "received", None)) or datetime.now(timezone.utc)
    if decision.priority_source == "ai":
        due = ai_clock_start(ai, arrival) + decision.target  # the site's clock rule for AI results
    else:
        key = (arrival, arrival.tzinfo, decision.target)
        due = _DUES.get(key)  # one datetime per (arrival, target): shared
        if due is None:
            if len(_DUES) > 100_000:
                _DUES.clear()
            due = _DUES[key] = arrival + decision.target
    reported = parse_time(reported_text) or parse_time(report.signed_at)
    incomplete = incomplete_label(study)
    if reported is None and not incomplete and report is NO_REPORT and order is NO_ORDER and ai is NO_AI:
        marks = _PLAIN[bool(local), reference]
    else:
        marks = EntryMarks(local, reference, reported, report, order, ai, incomplete)
    return WorklistEntry(study, decision, marks, arrival, due,
                         reading_status(status, report) if report is not NO_REPORT else status, claimed, priors)


_DUES: dict[tuple[Any, ...], datetime] = {}
_PLAIN = {(lo, ref): EntryMarks(lo, ref) for lo in (False, True) for ref in (False, True)}
_STATUS = {s.value: s for s in Status}
_DECISIONS: dict[tuple[Any, ...], Decision] = {}
_DECIDED_BY: dict[int, RuleSet] = {}
_INPUTS_OF = attrgetter("requested_procedure_priority", "study_priority_id", "patient_age", "requesting_service",
                        "modalities", "body_part", "description", "referring_physician", "source_node",
                        "institution", "patient_birth_date", "study_date")  # what the decision reads of a study


def _decision(rules: RuleSet, study: Any, fields_row: Mapping[str, Any] | None, override: str | None, order: str,
              ai: AiMark) -> Decision:
    """``_decide`` and the facts it used, memoised on their plain inputs (strings: C-level hashing, no dataclass
    ``__hash__`` per study; most studies share theirs)."""
    try:  # a study summary of the index: its request fields are its own (``request_fields``)
        key: tuple[Any, ...] = (id(rules), override, order, None if ai is NO_AI else ai, _INPUTS_OF(study))
    except AttributeError:
        fields = request_fields(fields_row, study)
        key = (id(rules), override, order, None if ai is NO_AI else ai, fields.requested_procedure_priority,
               fields.study_priority_id, fields.patient_age, fields.requesting_service, study.modalities,
               study.body_part, study.description, study.referring_physician, getattr(study, "source_node", None),
               getattr(study, "institution", ""), study.patient_birth_date, study.study_date)
    found = _DECISIONS.get(key)
    if found is None:
        if len(_DECISIONS) > 200_000:
            _DECISIONS.clear()
            _DECIDED_BY.clear()
        _DECIDED_BY[id(rules)] = rules  # the id stays this rule set's while memoised
        fields = request_fields(fields_row, study)
        facts = facts_of(study, fields)
        found = _DECISIONS[key] = Decision(*_decide(rules, override, fields, facts, order, ai), facts.age_years,
                                           facts.department, facts.site)
    return found


def _decide(rules: RuleSet, override: str | None, fields: RequestFields, facts: Facts, order: str,
            ai: AiMark) -> tuple[Priority, str, timedelta, str]:
    """(priority, its source, turnaround target, subspecialty): what the rules decide for these inputs."""
    priority, source = choose_priority(override, fields, facts, rules.priority_rules, order, ai)
    return priority, source, rules.config.target(priority), subspecialty(facts, rules.subspecialty_rules)


def _parse_shared(text: str | None) -> datetime | None:
    """``parse_time``, one datetime object per distinct text (a batch of studies shares its arrival time)."""
    if not text:
        return None
    try:
        return _TIMES[text]
    except KeyError:
        if len(_TIMES) > 100_000:
            _TIMES.clear()
        value = _TIMES[text] = parse_time(text)
        return value


_TIMES: dict[str, datetime | None] = {}


def incomplete_label(study: Any) -> str:
    """ "142 of 300" for a study flagged incomplete (index counts, no DICOM read), "" for a complete one."""
    if "incomplete" not in getattr(study, "flags", ()):
        return ""
    expected = getattr(study, "expected_instances", None)
    return f"{study.num_instances} of {expected}" if expected else "incomplete"
