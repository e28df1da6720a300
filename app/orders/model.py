"""Typed values of the order feed: orders, patient updates and merges, the clinical context shown."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Priority(str, Enum):
    """Order priority (HL7 table 0027 folded to the three the reading room uses)."""

    STAT = "STAT"
    ASAP = "ASAP"
    ROUTINE = "ROUTINE"

    @property
    def rank(self) -> int:
        return {Priority.STAT: 0, Priority.ASAP: 1, Priority.ROUTINE: 2}[self]


class MessageError(ValueError):
    """A message refused: ``ack`` is AE (content) or AR (rejected: not HL7, unsupported type); ``code`` is the
    HL7 table 0357 error code (100 segment, 101 required field missing, 103 value not in table, 200/201
    unsupported message type/event, 207 application error)."""

    def __init__(self, ack: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.ack, self.code, self.reason = ack, code, reason
        self.message: object = None  # the hl7.Message when the header could be read


@dataclass(frozen=True)
class PatientRef:
    """A patient as the RIS names it: ID and assigning authority (issuer, may be empty)."""

    patient_id: str
    issuer: str = ""

    def same(self, patient_id: str, issuer: str) -> bool:
        """Same ID, and same issuer when both sides have one."""
        return self.patient_id == patient_id and (not self.issuer or not issuer or self.issuer == issuer)


@dataclass(frozen=True)
class Order:
    """One requested procedure (an ORC/OBR group)."""

    accession: str
    patient: PatientRef
    order_control: str = "NW"
    placer_number: str = ""
    filler_number: str = ""
    study_uid: str = ""
    procedure_code: str = ""
    procedure_text: str = ""
    priority: Priority = Priority.ROUTINE
    priority_code: str = ""  # as sent (S, A, R, T...)
    ordering_physician: str = ""
    callback: str = ""
    reason: str = ""
    history: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    status: str = "active"  # "active" or "cancelled"


@dataclass(frozen=True)
class PatientUpdate:
    """ADT^A08: new demographics for a patient."""

    patient: PatientRef
    name: str = ""
    birth_date: str = ""
    sex: str = ""


@dataclass(frozen=True)
class Merge:
    """ADT^A40: ``prior`` (MRG-1) merged into ``survivor`` (PID-3)."""

    survivor: PatientRef
    prior: PatientRef
    name: str = ""


@dataclass(frozen=True)
class OrderContext:
    """What the reader needs of an order: why, how urgent, who to call."""

    accession: str
    procedure: str
    priority: Priority
    reason: str
    history: str
    ordering_physician: str
    callback: str


def order_context(order: Order) -> OrderContext:
    procedure = order.procedure_text or order.procedure_code
    return OrderContext(order.accession, procedure, order.priority, order.reason, order.history,
                        order.ordering_physician, order.callback)
