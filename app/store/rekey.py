"""Re-key cached studies after a patient merge (HL7 ADT^A40): the prior patient's studies move to the
surviving patient in the index; the files keep their headers (the order store remembers the merge)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from app.clock import utc_iso
from app.store.index import patient_key

if TYPE_CHECKING:
    from app.store.cache import Cache


def rekey_patient(cache: "Cache", prior_id: str, prior_issuer: str, survivor_id: str, survivor_issuer: str,
                  survivor_name: str = "") -> int:
    """Move every study of patient ``prior_id`` (issuer ``prior_issuer``; an empty issuer on either side
    matches any) to ``survivor_id``/``survivor_issuer``, created from the prior's demographics if it is new.
    Returns the number of studies moved (0 when the prior patient has none; idempotent)."""
    with cache.lock, cache.db.atomic():
        db = cache.db
        priors = [int(r[0]) for r in db.execute(
            "SELECT id FROM patients WHERE patient_id = ? AND (issuer = ? OR issuer = '' OR ? = '')",
            [prior_id, prior_issuer, prior_issuer]).fetchall()]
        if not priors:
            return 0
        target = _survivor(db, priors, survivor_id, survivor_issuer, survivor_name)
        moved = 0
        for ref in (p for p in priors if p != target):
            moved += db.execute("UPDATE studies SET patient_ref = ?, updated = ? WHERE patient_ref = ?",
                                [target, utc_iso(), ref]).rowcount
            db.execute("DELETE FROM patients WHERE id = ? AND NOT EXISTS "
                       "(SELECT 1 FROM studies WHERE patient_ref = ?)", [ref, ref])
        return moved


def _survivor(db, priors: list[int], patient_id: str, issuer: str, name: str) -> int:  # type: ignore[no-untyped-def]
    key = patient_key(SimpleNamespace(patient_id=patient_id, issuer_of_patient_id=issuer))  # type: ignore[arg-type]
    row = db.execute("SELECT id FROM patients WHERE patient_key = ?", [key]).fetchone()
    if row is not None:
        return int(row[0])
    old_name, birth, sex = db.execute("SELECT name, birth_date, sex FROM patients WHERE id = ?",
                                      [priors[0]]).fetchone()
    return int(db["patients"].insert({"patient_key": key, "patient_id": patient_id, "issuer": issuer,
                                      "name": name or old_name, "birth_date": birth, "sex": sex}).last_pk)
