"""The identifying UIDs of a received data set, read straight from its bytes (~30 us, not ~2 ms).

pydicom's ``dcmread(..., specific_tags=...)`` still builds every element up to the pixel data;
on the C-GET critical path (between the last byte of an instance and our C-STORE-RSP) that was
the largest single cost. This walker only steps over elements until (0020,000E) and reads four
values. Anything it does not expect (big endian, deflate, a UN of undefined length, a length
running past the end) raises :class:`ScanError`; callers then fall back to pydicom.
"""

from __future__ import annotations

import struct

from pydicom import uid as _uid

IMPLICIT_LE = _uid.ImplicitVRLittleEndian
EXPLICIT_LE_SYNTAXES = frozenset({
    _uid.ExplicitVRLittleEndian, _uid.JPEGBaseline8Bit, _uid.JPEGExtended12Bit, _uid.JPEGLossless,
    _uid.JPEGLosslessSV1, _uid.JPEGLSLossless, _uid.JPEGLSNearLossless, _uid.JPEG2000Lossless, _uid.JPEG2000,
    _uid.HTJ2KLossless, _uid.HTJ2KLosslessRPCL, _uid.HTJ2K, _uid.RLELossless,
})
WANTED = {0x00080016: "SOPClassUID", 0x00080018: "SOPInstanceUID",
          0x0020000D: "StudyInstanceUID", 0x0020000E: "SeriesInstanceUID"}
LAST = 0x0020000E
LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
MAX_DEPTH = 16
_TAG = struct.Struct("<HH")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<L")


class ScanError(ValueError):
    """The bytes are not in a form this walker handles (use pydicom instead)."""


def _header(buf: bytes | memoryview, pos: int, explicit: bool) -> tuple[int, int, int]:
    """(tag, value length, value offset) of the element at ``pos``."""
    if pos + 8 > len(buf):
        raise ScanError("element header past the end")
    group, elem = _TAG.unpack_from(buf, pos)
    tag = (group << 16) | elem
    if not explicit or group == 0xFFFE:  # item tags have no VR in any syntax
        return tag, _U32.unpack_from(buf, pos + 4)[0], pos + 8
    vr = bytes(buf[pos + 4: pos + 6])
    if vr in LONG_VRS:
        if pos + 12 > len(buf):
            raise ScanError("element header past the end")
        length = _U32.unpack_from(buf, pos + 8)[0]
        if vr == b"UN" and length == UNDEFINED:
            raise ScanError("UN of undefined length")
        return tag, length, pos + 12
    if not (65 <= buf[pos + 4] <= 90 and 65 <= buf[pos + 5] <= 90):
        raise ScanError("not explicit VR")
    return tag, _U16.unpack_from(buf, pos + 6)[0], pos + 8


def _skip_sequence(buf: bytes | memoryview, pos: int, explicit: bool, depth: int) -> int:
    """Offset just after an undefined-length value starting at ``pos`` (items, then SEQ_END)."""
    if depth > MAX_DEPTH:
        raise ScanError("sequences nested too deeply")
    while True:
        tag, length, value = _header(buf, pos, False)
        if tag == SEQ_END:
            return value
        if tag != ITEM:
            raise ScanError(f"unexpected tag {tag:08X} in a sequence")
        if length != UNDEFINED:
            pos = value + length
            continue
        pos = value
        while True:  # an item of undefined length: elements until ITEM_END
            tag, length, value = _header(buf, pos, explicit)
            if tag == ITEM_END:
                pos = value
                break
            pos = _skip_sequence(buf, value, explicit, depth + 1) if length == UNDEFINED else value + length
            if pos > len(buf):
                raise ScanError("value past the end")


def scan_uids(dataset: bytes | memoryview, transfer_syntax: str) -> dict[str, str]:
    """SOP class/instance, study and series UIDs of a data set encoded in ``transfer_syntax``.

    Missing elements come back as ``""``, like :func:`app.network.received.read_uids`.
    """
    if transfer_syntax == IMPLICIT_LE:
        explicit = False
    elif transfer_syntax in EXPLICIT_LE_SYNTAXES:
        explicit = True
    else:
        raise ScanError(f"transfer syntax {transfer_syntax} not handled")
    out = dict.fromkeys(WANTED.values(), "")
    pos, end = 0, len(dataset)
    while pos < end:
        tag, length, value = _header(dataset, pos, explicit)
        if tag > LAST:
            break
        if length == UNDEFINED:
            pos = _skip_sequence(dataset, value, explicit, 1)
            continue
        pos = value + length
        if pos > end:
            raise ScanError("value past the end")
        key = WANTED.get(tag)
        if key is not None:
            try:
                out[key] = bytes(dataset[value:pos]).decode("ascii").strip("\0 ")
            except UnicodeDecodeError as exc:
                raise ScanError("UID is not ASCII") from exc
    return out


def file_meta_end(data: bytes | memoryview) -> tuple[int, str]:
    """(offset of the data set, transfer syntax UID) of a Part 10 file (explicit VR LE File Meta)."""
    if len(data) < 144 or bytes(data[128:132]) != b"DICM":
        raise ScanError("no DICM prefix")
    pos, ts = 132, ""
    while pos + 8 <= len(data):
        group = _U16.unpack_from(data, pos)[0]
        if group != 0x0002:
            break
        tag, length, value = _header(data, pos, True)
        pos = value + length
        if tag == 0x00020010:
            ts = bytes(data[value:pos]).decode("ascii", "replace").strip("\0 ")
    if not ts or pos > len(data):
        raise ScanError("no transfer syntax in the File Meta")
    return pos, ts
