"""DIMSE command sets in Implicit VR Little Endian (PS3.7 E), encoded and parsed by hand.

pynetdicom builds each command through a pydicom Dataset (~0.4 ms); on the C-GET and C-STORE
receive paths these few fixed elements are written and read directly.
"""

from __future__ import annotations

import struct

from app.dicom.part10 import encode_text, encode_uid

U16, U32 = struct.Struct("<H"), struct.Struct("<L")
NO_DATASET = 0x0101  # Command Data Set Type (0000,0800): no data set follows


class CommandError(ValueError):
    """A command set that does not parse."""


def element(elem: int, value: bytes) -> bytes:
    """One group-0000 element (tag, 4-byte length, value)."""
    return struct.pack("<HHL", 0, elem, len(value)) + value


def command(*elements: bytes) -> bytes:
    """A command set with its group length, elements given in tag order."""
    body = b"".join(elements)
    return element(0x0000, U32.pack(len(body))) + body


def parse_command(data: bytes | bytearray) -> dict[int, bytes]:
    """{element number: value} of a command set; elements past group 0000 are ignored (Orthanc
    appends a Failed SOP Instance UID List (0008,0058) to a failed C-GET-RSP's command PDV)."""
    out: dict[int, bytes] = {}
    pos, end = 0, len(data)
    while pos + 8 <= end:
        group, elem = struct.unpack_from("<HH", data, pos)
        length = U32.unpack_from(data, pos + 4)[0]
        if group != 0:
            break
        if pos + 8 + length > end:
            raise CommandError("malformed DIMSE command set")
        out[elem] = bytes(data[pos + 8: pos + 8 + length])
        pos += 8 + length
    return out


def u16(cmd: dict[int, bytes], elem: int, default: int = 0) -> int:
    value = cmd.get(elem)
    return U16.unpack(value[:2])[0] if value and len(value) >= 2 else default


def text(cmd: dict[int, bytes], elem: int) -> str:
    return cmd.get(elem, b"").decode("ascii", "replace").strip("\0 ")


def get_rq(query_model: str, msg_id: int) -> bytes:
    """C-GET-RQ (medium priority); the identifier follows as a data set."""
    return command(element(0x0002, encode_uid(query_model)), element(0x0100, U16.pack(0x0010)),
                   element(0x0110, U16.pack(msg_id)), element(0x0700, U16.pack(0)),
                   element(0x0800, U16.pack(0x0001)))


def cancel_rq(msg_id: int) -> bytes:
    """C-CANCEL-RQ for the request ``msg_id``."""
    return command(element(0x0100, U16.pack(0x0FFF)), element(0x0120, U16.pack(msg_id)),
                   element(0x0800, U16.pack(NO_DATASET)))


def store_rsp(sop_class: str, sop_instance: str, message_id: int, status: int, comment: str | None = None) -> bytes:
    """C-STORE-RSP without a data set (PS3.7 9.3.1.2); ``comment`` up to 64 characters."""
    note = element(0x0902, encode_text(comment[:64].encode("ascii", "replace").decode("ascii"))) if comment else b""
    return command(element(0x0002, encode_uid(sop_class)), element(0x0100, U16.pack(0x8001)),
                   element(0x0120, U16.pack(message_id)), element(0x0800, U16.pack(NO_DATASET)),
                   element(0x0900, U16.pack(status)), note, element(0x1000, encode_uid(sop_instance)))


def echo_rsp(message_id: int, status: int = 0x0000) -> bytes:
    """C-ECHO-RSP (PS3.7 9.3.5.2)."""
    return command(element(0x0002, encode_uid("1.2.840.10008.1.1")), element(0x0100, U16.pack(0x8030)),
                   element(0x0120, U16.pack(message_id)), element(0x0800, U16.pack(NO_DATASET)),
                   element(0x0900, U16.pack(status)))
