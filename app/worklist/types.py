"""Value types of the reading worklist: priority, status, turnaround state, configuration, entry."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import Enum
from operator import attrgetter
from typing import Any, Callable, Iterable, Mapping

from app.worklist.ai import NO_AI, AiMark
from app.clock import utc_now  # noqa: F401  (re-exported: the worklist's default clock)

Clock = Callable[[], datetime]


class Priority(str, Enum):
    """Reading priority; ``rank`` 0 is the most urgent."""

    STAT = "STAT"
    URGENT = "urgent"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> "Priority":
        """Case-insensitive name or value (``stat``, ``URGENT``, ``Routine``)."""
        for p in cls:
            if text.strip().lower() in (p.value.lower(), p.name.lower()):
                return p
        raise ValueError(f"unknown priority {text!r}")


_PRIORITY_RANK = {Priority.STAT: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}


class Status(str, Enum):
    """Reading status of one study."""

    UNREAD = "unread"
    IN_PROGRESS = "in_progress"
    PRELIMINARY = "preliminary"
    FINAL = "final"
    AMENDED = "amended"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def active(self) -> bool:
        """Still to be reported (the turnaround clock runs)."""
        return self in _ACTIVE


_ACTIVE = (Status.UNREAD, Status.IN_PROGRESS)  # module constants: enum class attribute lookups are slow
_STAT = Priority.STAT
_RANK = {p.value: r for p, r in _PRIORITY_RANK.items()}  # by value: str hashing, not Enum.__hash__


class TatState(str, Enum):
    """Turnaround state: running (ok/near/breached) or stopped (met/late); none for reference studies."""

    OK = "ok"
    NEAR = "near_breach"
    BREACHED = "breached"
    MET = "met"
    LATE = "late"
    NONE = "none"


@dataclass(frozen=True)
class WorklistConfig:
    """Turnaround targets per priority and the near-breach threshold (fraction of the target left)."""

    stat_target: timedelta = timedelta(minutes=60)
    urgent_target: timedelta = timedelta(hours=4)
    routine_target: timedelta = timedelta(hours=24)
    near_breach_fraction: float = 0.25

    def target(self, priority: Priority) -> timedelta:
        return {Priority.STAT: self.stat_target, Priority.URGENT: self.urgent_target,
                Priority.ROUTINE: self.routine_target}[priority]

    def to_json(self) -> dict[str, float]:
        return {"stat_minutes": self.stat_target.total_seconds() / 60,
                "urgent_minutes": self.urgent_target.total_seconds() / 60,
                "routine_minutes": self.routine_target.total_seconds() / 60,
                "near_breach_fraction": self.near_breach_fraction}

    @classmethod
    def from_json(cls, data: dict[str, float]) -> "WorklistConfig":
        d = cls()
        return cls(timedelta(minutes=data.get("stat_minutes", d.stat_target.total_seconds() / 60)),
                   timedelta(minutes=data.get("urgent_minutes", d.urgent_target.total_seconds() / 60)),
                   timedelta(minutes=data.get("routine_minutes", d.routine_target.total_seconds() / 60)),
                   float(data.get("near_breach_fraction", d.near_breach_fraction)))


@dataclass(frozen=True)
class ReportMark:
    """What the study's reports say on its worklist row (filled by the workstation from the report store).

    ``status``: '' (no report), draft, preliminary, final, addended; ``flags``: ``critical`` and
    ``critical-not-communicated``; ``delivery``: '' or the least advanced outbox state."""

    status: str = ""
    flags: tuple[str, ...] = ()
    critical_text: str = ""
    delivery: str = ""
    signed_at: str = ""  # when the first report was signed (the turnaround clock stops there)

    @property
    def critical(self) -> bool:
        return "critical" in self.flags


NO_REPORT = ReportMark()
# study UIDs (None: every study) -> marks of the studies that have a report
ReportMarks = Callable[["Iterable[str] | None"], "Mapping[str, ReportMark]"]


@dataclass(frozen=True)
class OrderMark:
    """What the study's order from the RIS says on its worklist row (filled by the workstation from the
    order store): ``priority`` STAT/ASAP/ROUTINE ('' without an order), the clinical context, who to call."""

    priority: str = ""
    reason: str = ""
    history: str = ""
    ordering_physician: str = ""
    callback: str = ""
    procedure: str = ""

    @property
    def present(self) -> bool:
        return bool(self.priority)


NO_ORDER = OrderMark()
# the studies being listed (summaries) -> marks of those that have an order
OrderMarks = Callable[["Iterable[object]"], "Mapping[str, OrderMark]"]


# the study summary's fields an entry shows as its own (read through ``WorklistEntry.study``, not copied)
SUMMARY_FIELDS = ("study_instance_uid", "patient_id", "issuer_of_patient_id", "patient_name", "patient_sex",
                  "study_date", "study_time", "description", "accession", "modalities", "body_part", "institution",
                  "referring_physician", "num_series", "num_instances")


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules decide from a study's inputs (one object shared by every study deciding alike)."""

    priority: Priority
    priority_source: str  # reader | header | order | ai | rule | default
    target: timedelta
    subspecialty: str
    age_years: float | None
    department: str
    site: str


@dataclass(frozen=True, slots=True)
class EntryMarks:
    """The rest of an entry (one shared object for the usual local or remote study without any mark)."""

    local: bool
    reference: bool = False  # fetched only as a prior: not to be read, no clock
    reported_at: datetime | None = None
    report: ReportMark = NO_REPORT
    order: OrderMark = NO_ORDER
    ai: AiMark = NO_AI  # suspected findings from AI results (app.worklist.ai)
    incomplete: str = ""  # a retrieve ended short (or is running): "142 of 300" (or "incomplete"), from the index


@dataclass(frozen=True, slots=True, eq=False)
class WorklistEntry:
    """One study on the worklist, with everything the table and the CLI show. What many studies share is
    shared, not copied: the study's own fields (:data:`SUMMARY_FIELDS`: ``patient_name``, ``modalities``...)
    are its summary's (``study``), the rules' outcome (``priority``, ``target``, ``site``...) a shared
    :class:`Decision`, marks and flags (``report``, ``reference``...) :class:`EntryMarks`. Entries compare
    equal when every value shown is."""

    study: Any  # the study summary (app.store.StudySummary, or any object with SUMMARY_FIELDS)
    decision: Decision
    marks: EntryMarks
    arrival: datetime
    due: datetime
    status: Status
    claimed_by: str | None
    priors: tuple[str, ...] = field(default=())

    # derived once at construction (entries are immutable; sorting and typing read them often)
    search_text: str = field(init=False, repr=False)  # lower-case text the search box matches
    _reading_key: tuple[int, int, datetime, int, str] = field(init=False, repr=False)

    study_instance_uid = property(attrgetter("study.study_instance_uid"))
    patient_id = property(attrgetter("study.patient_id"))
    issuer_of_patient_id = property(attrgetter("study.issuer_of_patient_id"))
    patient_name = property(attrgetter("study.patient_name"))
    patient_sex = property(attrgetter("study.patient_sex"))
    study_date = property(attrgetter("study.study_date"))
    study_time = property(attrgetter("study.study_time"))
    description = property(attrgetter("study.description"))
    accession = property(attrgetter("study.accession"))
    modalities = property(attrgetter("study.modalities"))
    body_part = property(attrgetter("study.body_part"))
    institution = property(attrgetter("study.institution"))
    referring_physician = property(attrgetter("study.referring_physician"))
    num_series = property(attrgetter("study.num_series"))
    num_instances = property(attrgetter("study.num_instances"))
    priority = property(attrgetter("decision.priority"))
    priority_source = property(attrgetter("decision.priority_source"))
    target = property(attrgetter("decision.target"))
    subspecialty = property(attrgetter("decision.subspecialty"))
    age_years = property(attrgetter("decision.age_years"))
    department = property(attrgetter("decision.department"))
    site = property(attrgetter("decision.site"))
    local = property(attrgetter("marks.local"))
    reference = property(attrgetter("marks.reference"))
    reported_at = property(attrgetter("marks.reported_at"))
    report = property(attrgetter("marks.report"))
    order = property(attrgetter("marks.order"))
    ai = property(attrgetter("marks.ai"))
    incomplete = property(attrgetter("marks.incomplete"))

    def __post_init__(self) -> None:
        s, m, priority = self.study, self.marks, self.decision.priority
        setattr_ = object.__setattr__
        setattr_(self, "search_text", f"{s.patient_name}\t{s.patient_id}\t{s.accession}\t"
                 f"{s.description}\t{s.study_instance_uid}\t{m.order.reason}".lower())
        setattr_(self, "_reading_key", (0 if self.status in _ACTIVE and not m.reference else 1,
                                        0 if priority is _STAT else 1, self.due, _RANK[priority._value_],
                                        s.study_instance_uid))

    @property
    def to_read(self) -> bool:
        """Still to be read: unread or in progress, and not a reference study."""
        return self.status in _ACTIVE and not self.marks.reference

    def _values(self) -> tuple[Any, ...]:
        """Every value shown (the summary's fields, then the entry's own), what equality compares."""
        return (*_SUMMARY_VALUES(self.study), *_OWN_VALUES(self))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self is other or self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def remaining(self, now: datetime) -> timedelta:
        """Time left before breach (negative once breached)."""
        return self.due - now

    def tat_state(self, now: datetime, near_fraction: float = 0.25) -> TatState:
        """Where the turnaround clock stands at ``now``."""
        if self.reference:
            return TatState.NONE
        if self.reported_at is not None and not self.status.active:
            return TatState.MET if self.reported_at <= self.due else TatState.LATE
        left = self.due - now
        if left <= timedelta(0):
            return TatState.BREACHED
        return TatState.NEAR if left <= self.target * near_fraction else TatState.OK

    def reading_key(self) -> tuple[int, int, datetime, int, str]:
        """Reading order: studies to read first; STAT first; then least time to breach (urgent and
        routine compete on their clocks alone), then priority."""
        return self._reading_key


_SUMMARY_VALUES = attrgetter(*SUMMARY_FIELDS)
_OWN_VALUES = attrgetter(*(f.name for f in fields(Decision)), *(f.name for f in fields(EntryMarks)), "arrival", "due",
                         "status", "claimed_by", "priors")


def format_clock(left: timedelta) -> str:
    """``1:05:00`` left, or ``-0:12:30`` overdue; days shown as ``1d 02:00``."""
    seconds = int(left.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {h:02d}:{m:02d}"
    return f"{sign}{h}:{m:02d}:{s:02d}"
