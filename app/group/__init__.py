"""Group reading on PostgreSQL (Qt-free): one shared worklist for many readers.

The shared state lives in one PostgreSQL database (``schema``): worklist entries published by every reader's
workstation, claims with leases (``queue``: "next case" with ``FOR UPDATE SKIP LOCKED``, so two readers never
claim the same study), reader profiles (``readers``: facility credentialing, state licensure,
subspecialties, workload cap), assignment rules (``rules``: which readers a filter's studies go to), report states and their history (``reports``), peer review of a sample of
final reports (``peer_review``). ``connection.GroupDB`` reconnects with backoff; ``pending`` keeps, in a
local SQLite file, the report states the group has not acknowledged yet. SQLite stays the lone reader's worklist: nothing here runs without ``--group``.
"""

from app.group.connection import GroupDB, GroupError, GroupUnavailable
from app.group.peer_review import PeerOffer, PeerSummary
from app.group.queue import Claim, ClaimLost, NextResult, complete, handover, next_case, publish, release, renew
from app.group.readers import Facility, ReaderProfile, UnknownReader, add_reader, list_readers, set_facility
from app.group.reports import record_report_state
from app.group.rules import AssignmentRule, list_rules, remove_rule, set_rule
from app.group.schema import SCHEMA_VERSION, GroupSchemaTooNew, migrate

__all__ = [
    "AssignmentRule", "Claim", "ClaimLost", "Facility", "GroupDB", "GroupError", "GroupSchemaTooNew", "GroupUnavailable",
    "NextResult", "PeerOffer", "PeerSummary", "ReaderProfile", "SCHEMA_VERSION", "UnknownReader", "add_reader",
    "complete", "handover", "list_readers", "migrate", "next_case", "publish", "list_rules", "record_report_state", "release",
    "remove_rule", "renew", "set_facility", "set_rule",
]
