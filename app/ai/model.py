"""Value types of AI results: one object (SR or SEG) read, the suspected findings it names, a decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class AiResultError(ValueError):
    """An AI result object that cannot be read (the message says why, per object)."""


class Decision(str, Enum):
    """The radiologist's word on an AI finding."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"

    @classmethod
    def parse(cls, text: str) -> "Decision":
        value = text.strip().lower()
        aliases = {"accept": "accepted", "reject": "rejected", "confirm": "accepted", "confirmed": "accepted"}
        try:
            return cls(aliases.get(value, value))
        except ValueError:
            raise ValueError(f"unknown decision {text!r} (accept or reject)") from None


@dataclass(frozen=True)
class AiFinding:
    """One finding an AI object names: a known critical one has ``key`` (ich, lvo, pe) and ``label``."""

    key: str  # '' for a finding the worklist does not know (shown, never raises the priority)
    label: str  # ICH, LVO, PE, else the code meaning
    scheme: str = ""
    value: str = ""
    meaning: str = ""
    presence: str = "present"  # present | suspected
    critical: bool = False

    @property
    def name(self) -> str:
        """What the worklist shows: ``suspected ICH``."""
        return f"suspected {self.label}"


@dataclass(frozen=True)
class AiObject:
    """One AI result object read from the cache."""

    sop_uid: str
    study_uid: str
    series_uid: str
    kind: str  # SR | SEG
    algorithm: str = ""  # manufacturer / model / algorithm name, as the object gives them
    findings: tuple[AiFinding, ...] = ()
    references: tuple[str, ...] = field(default=())  # referenced image SOP Instance UIDs
    warning: str = ""  # why the object could not be read ('' when it could)
