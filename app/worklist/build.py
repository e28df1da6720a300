"""Turn study summaries + persisted state + rules into worklist entries (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from app.worklist.ai import NO_AI, AiMark, ai_clock_start
from app.worklist.header import RequestFields, age_from_dates, age_from_header, header_priority
from app.worklist.priors import site_of
from app.worklist.rules import FALLBACK_SUBSPECIALTY, Facts, Rule, all_matches, first_match
from app.worklist.types import (
    NO_ORDER, NO_REPORT, OrderMark, Priority, ReportMark, Status, WorklistConfig, WorklistEntry,
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
    """One entry; ``state`` is the persisted row (it always exists once a study has been seen)."""
    fields = request_fields(fields_row, study)
    priority, source, target, sub, facts = _decision(rules, study, fields, state.get("priority_override"),
                                                     order.priority, ai)
    arrival = _parse_shared(state.get("arrival")) or datetime.now(timezone.utc)
    if source == "ai":
        due = ai_clock_start(ai, arrival) + target  # the site's clock rule for AI results
    else:
        due = _memo(3, rules, (arrival, arrival.tzinfo, target), lambda _r, k: k[0] + k[2])  # shared datetimes
    return WorklistEntry(
        study_instance_uid=study.study_instance_uid, patient_id=study.patient_id,
        issuer_of_patient_id=study.issuer_of_patient_id, patient_name=study.patient_name,
        patient_sex=study.patient_sex, age_years=facts.age_years, study_date=study.study_date,
        study_time=study.study_time, description=study.description, accession=study.accession,
        modalities=tuple(study.modalities), body_part=study.body_part, institution=study.institution,
        referring_physician=study.referring_physician, department=fields.requesting_service,
        site=facts.site, local=local, num_series=study.num_series, num_instances=study.num_instances,
        priority=priority, priority_source=source, arrival=arrival, due=due, target=target,
        reported_at=parse_time(state.get("reported_at")) or parse_time(report.signed_at),
        status=reading_status(Status(state.get("status") or "unread"), report),
        claimed_by=state.get("claimed_by") or None, subspecialty=sub,
        reference=bool(state.get("reference")), priors=priors, report=report, order=order, ai=ai,
        incomplete=incomplete_label(study),
    )


_DECISIONS: dict[tuple[Any, ...], tuple[Priority, str, timedelta, str, Facts]] = {}
_DECIDED_BY: dict[int, RuleSet] = {}


def _decision(rules: RuleSet, study: Any, fields: RequestFields, override: str | None, order: str,
              ai: AiMark) -> tuple[Priority, str, timedelta, str, Facts]:
    """``_decide`` and the facts, memoised on their plain inputs (strings: C-level hashing, no dataclass
    ``__hash__`` per study; most studies share theirs)."""
    key = (id(rules), override, fields.requested_procedure_priority, fields.study_priority_id, fields.patient_age,
           fields.requesting_service, study.modalities, study.body_part, study.description,
           study.referring_physician, getattr(study, "source_node", None), getattr(study, "institution", ""),
           study.patient_birth_date, study.study_date, order, None if ai is NO_AI else ai)
    found = _DECISIONS.get(key)
    if found is None:
        if len(_DECISIONS) > 200_000:
            _DECISIONS.clear()
            _DECIDED_BY.clear()
        _DECIDED_BY[id(rules)] = rules  # the id stays this rule set's while memoised
        facts = facts_of(study, fields)
        found = _DECISIONS[key] = (*_decide(rules, override, fields, facts, order, ai), facts)
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
