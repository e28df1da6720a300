"""The reading worklist (Qt-free): priorities, turnaround clocks, subspecialties, status, priors, prefetch."""

from app.worklist.db import DB_FILENAME, SCHEMA_VERSION, WorklistDB, WorklistSchemaError
from app.worklist.model import ClaimedError, Worklist
from app.worklist.prefetch import PrefetchQueue, PrefetchState, plan_prefetch, prefetch_worklist
from app.worklist.query import TO_READ, WorklistFilter, facets, filter_entries, narrows, sort_entries
from app.worklist.rules import DEFAULT_PRIORITY_RULES, DEFAULT_SUBSPECIALTY_RULES, Facts, Rule
from app.worklist.status import IllegalTransition, check_transition
from app.worklist.types import (
    NO_ORDER, NO_REPORT, Clock, OrderMark, OrderMarks, Priority, ReportMark, ReportMarks,
    Status, TatState, WorklistConfig, WorklistEntry,
    format_clock, utc_now,
)

__all__ = [
    "DB_FILENAME", "DEFAULT_PRIORITY_RULES", "NO_ORDER", "NO_REPORT", "OrderMark", "OrderMarks", "ReportMark", "ReportMarks", "DEFAULT_SUBSPECIALTY_RULES", "SCHEMA_VERSION", "TO_READ",
    "ClaimedError", "Clock", "Facts", "IllegalTransition", "PrefetchQueue", "PrefetchState", "Priority", "Rule",
    "Status", "TatState", "Worklist", "WorklistConfig", "WorklistDB", "WorklistEntry", "WorklistFilter",
    "WorklistSchemaError", "check_transition", "facets", "filter_entries", "narrows", "format_clock", "plan_prefetch",
    "prefetch_worklist", "sort_entries", "utc_now",
]
