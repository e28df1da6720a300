"""What the window shows of the shared worklist: who holds which study (a live lease), and opening a study
from the list claims it for its reader (unless a colleague holds it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

from app.group.queue import LEASE_SECONDS, _RETURNING, Claim, ClaimLost, _check_may_read, event

if TYPE_CHECKING:
    import psycopg

    from app.group.connection import GroupDB


@dataclass(frozen=True)
class Held:
    """A study's state in the group: its status and, while a lease runs, the reader holding it."""

    status: str
    claimed_by: str = ""


def board(db: "GroupDB", study_uids: Iterable[str], *, retry_for: Optional[float] = None) -> dict[str, Held]:
    """The group state of those studies (studies the group does not know are left out)."""
    uids = list(dict.fromkeys(study_uids))
    if not uids:
        return {}
    rows = db.run(lambda conn: conn.execute(
        "SELECT study_uid, status, CASE WHEN status = 'in_progress' AND lease_until > now() THEN claimed_by END "
        "FROM studies WHERE study_uid = ANY(%s)", (uids,)).fetchall(), retry_for=retry_for, transaction=False)
    return {uid: Held(status, by or "") for uid, status, by in rows}


def claim_study(db: "GroupDB", reader: str, study_uid: str, *, lease: float = LEASE_SECONDS,
                retry_for: Optional[float] = None) -> Optional[Claim]:
    """Claim this study for ``reader`` (opened from the list): None if the group does not know it; ClaimLost
    when a colleague's lease runs; GroupError when the reader is not credentialed or licensed for it."""
    def work(conn: "psycopg.Connection[Any]") -> Optional[Claim]:
        row = conn.execute("SELECT facility, patient_state, claimed_by, status, lease_until > now() FROM studies "
                           "WHERE study_uid = %s FOR UPDATE", (study_uid,)).fetchone()
        if row is None:
            return None
        facility, state, holder, status, live = row
        if holder and holder != reader and status == "in_progress" and live:
            raise ClaimLost(f"claimed by {holder}")
        if status not in ("unread", "in_progress", "preliminary"):
            raise ClaimLost(f"already read ({status})")
        _check_may_read(conn, reader, facility, state)
        claimed = conn.execute(
            "UPDATE studies SET status = 'in_progress', claimed_by = %s, claim_token = NULL, claimed_at = now(), "
            "lease_until = now() + make_interval(secs => %s), updated_at = now() WHERE study_uid = %s "
            f"RETURNING {_RETURNING}", (reader, lease, study_uid)).fetchone()
        if holder != reader:
            event(conn, study_uid, reader, "claimed", how="opened from the worklist")
        return Claim(*claimed)

    return db.run(work, retry_for=retry_for)
