"""Assignment rules (as a reading platform's auto-assignment): a worklist filter (facility, modality,
priority, subspecialty; empty = any) and the readers its studies go to. "Next case" offers a study that
matches one or more rules only to the readers of those rules, on top of credentials, licence, subspecialty
and cap; a study no rule matches goes to every reader allowed to read it. An explicit open or hand-over
needs credentials and licence only (a rule routes the queue, it is not an access control)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from app.group.connection import GroupError
from app.group.readers import UnknownReader

if TYPE_CHECKING:
    import psycopg

    from app.group.connection import GroupDB

PRIORITIES = ("STAT", "urgent", "routine")

# a rule r matches a study s (used inside schema.NEXT_CASE_FUNCTION through queue.ELIGIBLE)
MATCH = ("(r.facility IS NULL OR r.facility = s.facility) AND (r.modality IS NULL OR r.modality = s.modality) "
         "AND (r.priority IS NULL OR r.priority = s.priority) "
         "AND (r.subspecialty IS NULL OR r.subspecialty = s.subspecialty)")


@dataclass(frozen=True)
class AssignmentRule:
    name: str
    readers: tuple[str, ...]
    facility: str | None = None
    modality: str | None = None
    priority: str | None = None
    subspecialty: str | None = None


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def set_rule(db: "GroupDB", name: str, readers: Sequence[str], *, facility: str | None = None,
             modality: str | None = None, priority: str | None = None,
             subspecialty: str | None = None) -> AssignmentRule:
    """Create or replace rule ``name``: studies matching the filter go to ``readers`` (existing readers)."""
    name, team = name.strip(), sorted({r.strip() for r in readers if r.strip()})
    modality = _blank(modality.upper() if modality else modality)
    if not name:
        raise GroupError("an assignment rule needs a name")
    if not team:
        raise GroupError(f"assignment rule {name!r} needs at least one reader")
    if priority is not None and priority not in PRIORITIES:
        raise GroupError(f"priority must be one of {', '.join(PRIORITIES)}")

    def work(conn: "psycopg.Connection[Any]") -> None:
        known = {n for (n,) in conn.execute("SELECT name FROM readers WHERE name = ANY(%s)", (team,)).fetchall()}
        missing = [r for r in team if r not in known]
        if missing:
            raise UnknownReader(f"no reader {', '.join(map(repr, missing))} in the group (telerad readers add ...)")
        conn.execute("DELETE FROM assignment_rules WHERE name = %s", (name,))
        conn.execute("INSERT INTO assignment_rules (name, facility, modality, priority, subspecialty) "
                     "VALUES (%s, %s, %s, %s, %s)",
                     (name, _blank(facility), modality, priority, _blank(subspecialty)))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO assignment_rule_readers (rule, reader) VALUES (%s, %s)",
                            [(name, r) for r in team])

    db.run(work)
    return next(r for r in list_rules(db) if r.name == name)


def remove_rule(db: "GroupDB", name: str) -> None:
    """Delete rule ``name`` (GroupError if there is none)."""
    gone = db.run(lambda conn: conn.execute("DELETE FROM assignment_rules WHERE name = %s RETURNING name",
                                            (name.strip(),)).fetchone())
    if gone is None:
        raise GroupError(f"no assignment rule {name!r}")


def list_rules(db: "GroupDB") -> list[AssignmentRule]:
    rows = db.run(lambda conn: conn.execute(
        "SELECT r.name, coalesce((SELECT array_agg(x.reader ORDER BY x.reader) FROM assignment_rule_readers x "
        "WHERE x.rule = r.name), '{}'), r.facility, r.modality, r.priority, r.subspecialty "
        "FROM assignment_rules r ORDER BY r.name").fetchall())
    return [AssignmentRule(n, tuple(team), f, m, p, s) for n, team, f, m, p, s in rows]
