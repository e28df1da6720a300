"""Reader profiles of the group: facilities a reader is credentialed at, states they are licensed in,
subspecialties, and the workload cap (studies held at once); facilities and the state of their patients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from app.group.connection import GroupError

if TYPE_CHECKING:
    import psycopg

    from app.group.connection import GroupDB


class UnknownReader(GroupError):
    """No such reader in the group (add one with ``telerad readers add``)."""


@dataclass(frozen=True)
class ReaderProfile:
    name: str
    facilities: tuple[str, ...]
    licenses: tuple[str, ...]  # state codes, upper case
    subspecialties: tuple[str, ...]  # none: reads every subspecialty
    cap: int
    active: bool = True
    holding: int = 0  # studies claimed now (live leases)


@dataclass(frozen=True)
class Facility:
    name: str
    state: str


def _clean(values: Iterable[str], upper: bool = False) -> list[str]:
    out = sorted({v.strip().upper() if upper else v.strip() for v in values if v and v.strip()})
    return out


def add_reader(db: "GroupDB", name: str, *, facilities: Sequence[str] = (), licenses: Sequence[str] = (),
               subspecialties: Sequence[str] = (), cap: int | None = None, replace: bool = False) -> ReaderProfile:
    """Create the reader or add to their profile (``replace``: the lists given replace the recorded ones)."""
    name = name.strip()
    if not name:
        raise GroupError("a reader needs a name")
    if cap is not None and cap < 0:
        raise GroupError("the workload cap cannot be negative")
    lists = {"reader_facilities": ("facility", _clean(facilities)),
             "reader_licenses": ("state", _clean(licenses, upper=True)),
             "reader_subspecialties": ("subspecialty", _clean(subspecialties))}

    def work(conn: "psycopg.Connection[Any]") -> None:
        conn.execute("INSERT INTO readers (name, cap) VALUES (%s, coalesce(%s, 5)) ON CONFLICT (name) DO UPDATE "
                     "SET cap = coalesce(%s, readers.cap), active = true", (name, cap, cap))
        for table, (column, values) in lists.items():
            if replace:
                conn.execute(f"DELETE FROM {table} WHERE reader = %s", (name,))  # type: ignore[call-overload]
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} (reader, {column}) VALUES (%s, %s) "  # type: ignore[call-overload]
                                "ON CONFLICT DO NOTHING", [(name, v) for v in values])

    db.run(work)
    return get_reader(db, name)


def get_reader(db: "GroupDB", name: str) -> ReaderProfile:
    found = [r for r in list_readers(db, name) if r.name == name]
    if not found:
        raise UnknownReader(f"no reader {name!r} in the group (telerad readers add {name} ...)")
    return found[0]


_LIST = """
SELECT r.name, r.cap, r.active,
  coalesce((SELECT array_agg(facility ORDER BY facility) FROM reader_facilities WHERE reader = r.name), '{}'),
  coalesce((SELECT array_agg(state ORDER BY state) FROM reader_licenses WHERE reader = r.name), '{}'),
  coalesce((SELECT array_agg(subspecialty ORDER BY subspecialty) FROM reader_subspecialties
            WHERE reader = r.name), '{}'),
  (SELECT count(*) FROM studies s WHERE s.claimed_by = r.name AND s.status = 'in_progress'
     AND s.lease_until > now())
FROM readers r WHERE %(name)s::text IS NULL OR r.name = %(name)s ORDER BY r.name
"""


def list_readers(db: "GroupDB", name: str | None = None) -> list[ReaderProfile]:
    rows = db.run(lambda conn: conn.execute(_LIST, {"name": name}).fetchall())
    return [ReaderProfile(n, tuple(f), tuple(lic), tuple(sub), cap, active, int(holding))
            for n, cap, active, f, lic, sub, holding in rows]


def set_facility(db: "GroupDB", name: str, state: str) -> Facility:
    """Record the state a facility's patients are in; its queued studies of unknown state take it."""
    name, state = name.strip(), state.strip().upper()
    if not name or not state:
        raise GroupError("a facility needs a name and a state")

    def work(conn: "psycopg.Connection[Any]") -> None:
        conn.execute("INSERT INTO facilities (name, state) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
                     "SET state = EXCLUDED.state", (name, state))
        conn.execute("UPDATE studies SET patient_state = %s, updated_at = now() WHERE facility = %s "
                     "AND patient_state = '' AND status IN ('unread', 'in_progress')", (state, name))

    db.run(work)
    return Facility(name, state)


def list_facilities(db: "GroupDB") -> list[Facility]:
    rows = db.run(lambda conn: conn.execute("SELECT name, state FROM facilities ORDER BY name").fetchall())
    return [Facility(n, s) for n, s in rows]
