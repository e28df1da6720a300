"""HL7 v2 original-mode ACKs (python-hl7's ``create_ack``): MSA-1 AA/AE/AR, MSA-3 and ERR carry the reason."""

from __future__ import annotations

from typing import Any

from app.clock import utc_now

APPLICATION, FACILITY = "TELERAD", "TELERAD"
_SEVERITY = "E"


def _clean(text: str) -> str:
    """``text`` without HL7 delimiters or line breaks (a reason must not break the ACK's structure)."""
    for ch in "|^~\\&\r\n":
        text = text.replace(ch, " ")
    return " ".join(text.split())[:200]


def _control_id() -> str:
    return "ACK" + utc_now().strftime("%Y%m%d%H%M%S%f")


def ack_for(message: Any, code: str, reason: str = "", error_code: str = "") -> bytes:
    """The ACK (ER7 bytes, unframed) answering the parsed ``message``."""
    ack = message.create_ack(code, message_id=_control_id(), application=APPLICATION, facility=FACILITY)
    text = str(ack)
    if code != "AA":
        text += f"|{_clean(reason)}" + _err(reason, error_code)
    return text.encode("utf-8")


def ack_unparsed(code: str, reason: str, error_code: str = "100", control_id: str = "") -> bytes:
    """An ACK for input that is not a readable message (MSA-2 empty unless a control ID was found)."""
    now = utc_now().strftime("%Y%m%d%H%M%S")
    msh = f"MSH|^~\\&|{APPLICATION}|{FACILITY}|||{now}||ACK|{_control_id()}|P|2.5"
    return (msh + f"\rMSA|{code}|{_clean(control_id)}|{_clean(reason)}" + _err(reason, error_code)).encode("utf-8")


def _err(reason: str, error_code: str) -> str:
    """ERR segment (v2.5: ERR-3 table 0357 code, ERR-4 severity, ERR-8 user message)."""
    return f"\rERR|||{error_code or '207'}^^HL70357|{_SEVERITY}||||{_clean(reason)}"


def read_ack(raw: bytes) -> tuple[str, str, str]:
    """(MSA-1, MSA-2, reason) of an ACK (tests and tools)."""
    import hl7

    from app.orders.parse import field, to_text

    msg = hl7.parse(to_text(raw))
    reason = field(msg, "MSA.F3") or field(msg, "ERR.F8")
    return field(msg, "MSA.F1"), field(msg, "MSA.F2"), reason
