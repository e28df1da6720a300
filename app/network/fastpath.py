"""Hand-encoded C-STORE responses: pynetdicom builds each one through a pydicom Dataset (~0.4 ms).

The command set of a C-STORE-RSP (PS3.7 9.3.1.2) is six fixed elements in Implicit VR Little
Endian; encoding it directly removes a third of our per-instance cost during a C-GET.
"""

from __future__ import annotations

import struct
from typing import Any, Callable


def _element(group: int, elem: int, value: bytes) -> bytes:
    return struct.pack("<HHL", group, elem, len(value)) + value


def _uid(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b"\0" if len(raw) % 2 else raw


def encode_store_rsp(sop_class: str, sop_instance: str, message_id: int, status: int,
                     comment: str | None = None) -> bytes:
    """The Implicit VR LE command set of a C-STORE-RSP without a data set."""
    note = b""
    if comment:
        raw = comment[:64].encode("ascii", "replace")
        note = _element(0, 0x0902, raw + b" " if len(raw) % 2 else raw)
    body = b"".join((
        _element(0, 0x0002, _uid(sop_class)),
        _element(0, 0x0100, struct.pack("<H", 0x8001)),
        _element(0, 0x0120, struct.pack("<H", message_id)),
        _element(0, 0x0800, struct.pack("<H", 0x0101)),
        _element(0, 0x0900, struct.pack("<H", status)),
        note,
        _element(0, 0x1000, _uid(sop_instance)),
    ))
    return _element(0, 0x0000, struct.pack("<L", len(body))) + body


def install(assoc: Any) -> None:
    """Route this association's plain C-STORE responses through :func:`encode_store_rsp`."""
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.pdu_primitives import P_DATA

    dimse = assoc.dimse
    original: Callable[[Any, int], None] = dimse.send_msg

    def send_msg(primitive: Any, context_id: int) -> None:
        simple = (
            type(primitive) is C_STORE and primitive.MessageIDBeingRespondedTo is not None
            and primitive.ErrorComment is None and primitive.OffendingElement is None
            and primitive.AffectedSOPClassUID and primitive.AffectedSOPInstanceUID
            and primitive.Status is not None
        )
        if not simple:
            original(primitive, context_id)
            return
        cmd = encode_store_rsp(str(primitive.AffectedSOPClassUID), str(primitive.AffectedSOPInstanceUID),
                               int(primitive.MessageIDBeingRespondedTo), int(primitive.Status))
        pdata = P_DATA()
        pdata.presentation_data_value_list = [[context_id, b"\x03" + cmd]]
        assoc.dul.send_pdu(pdata)

    dimse.send_msg = send_msg
