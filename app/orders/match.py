"""Orders joined to cached studies: by Study Instance UID when the order has one, else by accession number
with the same patient (ID, and issuer when both sides have one; merges followed)."""

from __future__ import annotations

from typing import Callable, Iterable, Protocol

from app.orders.model import Order, PatientRef


class StudyLike(Protocol):
    study_instance_uid: str
    accession: str
    patient_id: str
    issuer_of_patient_id: str


Resolve = Callable[[PatientRef], PatientRef]


def _same_patient(order: Order, study: StudyLike, resolve: Resolve) -> bool:
    if not study.patient_id:
        return True  # an anonymous header cannot contradict the order
    if order.patient.same(study.patient_id, study.issuer_of_patient_id):
        return True
    mine = resolve(order.patient)
    theirs = resolve(PatientRef(study.patient_id, study.issuer_of_patient_id))
    return mine.same(theirs.patient_id, theirs.issuer)


def match_orders(orders: Iterable[Order], studies: Iterable[StudyLike],
                 resolve: Resolve = lambda ref: ref) -> dict[str, Order]:
    """study_uid -> its order (studies without an order are left out)."""
    by_accession: dict[str, list[StudyLike]] = {}
    by_uid: dict[str, StudyLike] = {}
    for study in studies:
        by_uid[study.study_instance_uid] = study
        if study.accession:
            by_accession.setdefault(study.accession, []).append(study)
    found: dict[str, Order] = {}
    for order in orders:
        if order.study_uid in by_uid:
            found[order.study_uid] = order
            continue
        for study in by_accession.get(order.accession, ()):
            if _same_patient(order, study, resolve):
                found.setdefault(study.study_instance_uid, order)
    return found


def awaiting_images(orders: Iterable[Order], matched: dict[str, Order]) -> list[Order]:
    """The active orders no cached study matches yet."""
    taken = {o.accession for o in matched.values()}
    return [o for o in orders if o.status == "active" and o.accession not in taken]
