"""Apply one HL7 message to the order store and answer it: AA when applied, AE/AR with the reason (and
nothing changed) when refused. Orders and patient updates are audited (110109 / 110110)."""

from __future__ import annotations

import logging
from app.db import errors as db_errors
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from app.orders.ack import ack_for, ack_unparsed
from app.orders.model import Merge, MessageError
from app.orders.parse import Parsed, field, parse_message

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.orders.store import OrderStore

log = logging.getLogger(__name__)
MergeHook = Callable[[Merge], int]  # re-keys the cached studies of a merge; returns how many moved


@dataclass(frozen=True)
class Outcome:
    """What one message did: the ACK sent and its code, the message's type and control ID."""

    ack: bytes
    code: str
    kind: str = ""
    control_id: str = ""
    reason: str = ""


class Receiver:
    """Callable turning raw ER7 bytes into an :class:`Outcome` (thread-safe: the store locks itself)."""

    def __init__(self, store: "OrderStore", *, audit: "Optional[AuditLog]" = None, user: str = "hl7",
                 on_merge: Optional[MergeHook] = None) -> None:
        self.store, self.audit, self.user, self.on_merge = store, audit, user, on_merge

    def __call__(self, raw: bytes) -> Outcome:
        try:
            parsed = parse_message(raw)
        except MessageError as exc:
            if exc.message is not None:
                msg = exc.message
                return self._refuse(Parsed(msg, _kind(msg), field(msg, "MSH.F10")), exc)
            log.warning("HL7 message refused (%s): %s", exc.ack, exc.reason)
            return Outcome(ack_unparsed(exc.ack, exc.reason, exc.code), exc.ack, reason=exc.reason)
        try:
            _check_header(parsed)
            self._apply(parsed)
        except MessageError as exc:
            return self._refuse(parsed, exc)
        except (*db_errors.Error, OSError) as exc:
            log.exception("HL7 %s %s not stored", parsed.kind, parsed.control_id)
            return self._refuse(parsed, MessageError("AR", "207", f"not stored ({type(exc).__name__}); resend"))
        log.info("HL7 %s %s accepted", parsed.kind, parsed.control_id)
        return Outcome(ack_for(parsed.message, "AA"), "AA", parsed.kind, parsed.control_id)

    def _refuse(self, parsed: Parsed, exc: MessageError) -> Outcome:
        log.warning("HL7 %s %s refused (%s): %s", parsed.kind, parsed.control_id, exc.ack, exc.reason)
        return Outcome(ack_for(parsed.message, exc.ack, exc.reason, exc.code), exc.ack, parsed.kind,
                       parsed.control_id, exc.reason)

    def _apply(self, parsed: Parsed) -> None:
        if parsed.orders:
            self._orders(parsed)
        elif parsed.update is not None:
            count = self.store.update_patient(parsed.update)
            self._audit_patient(parsed, parsed.update.patient.patient_id, {"orders_updated": count})
        elif parsed.merge is not None:
            self._merge(parsed, parsed.merge)

    def _orders(self, parsed: Parsed) -> None:
        from app.audit import events, record_quietly

        known = self.store.by_accession(o.accession for o in parsed.orders)
        self.store.put_orders(parsed.orders, control_id=parsed.control_id, message_type=parsed.kind)
        for order in parsed.orders:
            action = "D" if order.status == "cancelled" else ("U" if order.accession in known else "C")
            record_quietly(self.audit, events.ORDER_RECORD, action=action, user=self.user,
                           study_uid=order.study_uid or None, patient_id=order.patient.patient_id,
                           detail={"accession": order.accession, "order_control": order.order_control,
                                   "priority": order.priority.value, "message": parsed.kind,
                                   "control_id": parsed.control_id})

    def _merge(self, parsed: Parsed, merge: Merge) -> None:
        studies = 0
        if self.on_merge is not None:
            try:
                studies = self.on_merge(merge)
            except MessageError:
                raise
            except Exception as exc:  # the cache refused: the store stays as it was, the sender resends
                log.exception("HL7 %s %s: re-keying the cached studies failed", parsed.kind, parsed.control_id)
                raise MessageError("AR", "207", f"cached studies not re-keyed ({type(exc).__name__})") from exc
        moved = self.store.merge(merge, control_id=parsed.control_id)
        prior = self.audit.patient_hash(merge.prior.patient_id) if self.audit is not None else None
        self._audit_patient(parsed, merge.survivor.patient_id,
                            {"merged_from": prior, "orders_moved": moved, "studies_rekeyed": studies})

    def _audit_patient(self, parsed: Parsed, patient_id: str, detail: dict[str, object]) -> None:
        from app.audit import events, record_quietly

        record_quietly(self.audit, events.PATIENT_RECORD, action="U", user=self.user, patient_id=patient_id,
                       detail={"message": parsed.kind, "control_id": parsed.control_id, **detail})


def _kind(msg: object) -> str:
    return "^".join(x for x in (field(msg, "MSH.F9.R1.C1"), field(msg, "MSH.F9.R1.C2")) if x)


def _check_header(parsed: Parsed) -> None:
    """MSH-11 processing ID P/D/T and an HL7 v2 version (MSH-12), else AR."""
    processing = field(parsed.message, "MSH.F11.R1.C1").upper()
    if processing and processing not in {"P", "D", "T"}:
        raise MessageError("AR", "202", f"unsupported processing ID {processing}")
    version = field(parsed.message, "MSH.F12.R1.C1")
    if version and not version.startswith("2."):
        raise MessageError("AR", "203", f"unsupported HL7 version {version}")
