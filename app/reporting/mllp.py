"""Send one HL7 message over MLLP (python-hl7's ``MLLPClient``) and require an accepting application ACK."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from hl7.client import CR, EB, SB, MLLPClient

from app.reporting.delivery import DeliveryError

if TYPE_CHECKING:
    from app.reporting.settings import Hl7Destination

ACCEPTED = frozenset({"AA", "CA"})
MAX_ACK_BYTES = 1 << 20


class AckError(DeliveryError):
    """The receiver answered with something other than AA/CA; ``code`` is MSA-1, ``text`` MSA-3 (or ERR-8)."""

    def __init__(self, destination: str, code: str, text: str) -> None:
        super().__init__(f"HL7 to {destination}: {code or 'no MSA-1'}" + (f" {text}" if text else ""))
        self.code, self.text = code, text


class _Client(MLLPClient):
    """``MLLPClient`` with a connect/read timeout, ``sendall`` and a read up to the end of the ACK block
    (hl7 0.4.5 connects without a timeout, uses ``send`` and returns what a single ``recv`` gives)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.socket = socket.create_connection((host, port), timeout=timeout)
        self.encoding = "utf-8"

    def send(self, data: bytes) -> bytes:
        self.socket.sendall(data)
        reply = b""
        while EB not in reply:
            chunk = self.socket.recv(65536)
            if not chunk:
                break
            reply += chunk
            if len(reply) > MAX_ACK_BYTES:
                raise DeliveryError("HL7 ACK larger than 1 MiB")
        return reply


def _control_id(message: bytes) -> str:
    import hl7

    return str(hl7.parse(message.decode("utf-8"))["MSH.10"])


def send_message(dest: "Hl7Destination", message: bytes) -> str:
    """Send ``message`` (ER7, UTF-8) to ``dest`` and return the ACK text. DeliveryError when the peer is
    unreachable, times out, answers garbage or an ACK for another message; AckError unless MSA-1 is AA or CA."""
    import hl7

    expected = _control_id(message)
    where = f"HL7 to {dest.name} ({dest.host}:{dest.port})"
    try:
        with _Client(dest.host, dest.port, dest.timeout_s) as client:
            raw = client.send_message(message)
    except OSError as exc:
        raise DeliveryError(f"{where}: {exc}") from exc
    text = raw.strip(SB + EB + CR + b"\n").decode("utf-8", errors="replace")
    if not text:
        raise DeliveryError(f"{where}: connection closed without an ACK")
    try:
        ack = hl7.parse(text)
        code, acked = str(ack["MSA.1"]), str(ack["MSA.2"])
        has_err = any(str(segment[0]) == "ERR" for segment in ack)
        reason = str(ack["MSA.3"]) or (str(ack["ERR.8"]) if has_err else "")
    except (hl7.HL7Exception, KeyError, IndexError, ValueError) as exc:
        raise DeliveryError(f"{where}: unreadable ACK ({type(exc).__name__})") from exc
    if acked != expected:
        raise DeliveryError(f"{where}: ACK for message {acked!r}, expected {expected!r}")
    if code not in ACCEPTED:
        raise AckError(dest.name, code, reason)
    return text
