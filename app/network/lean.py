"""DIMSE run by hand on an association pynetdicom established: the C-GET exchange (here) and our
Storage SCP's C-STORE service (:mod:`app.network.lean_scp`).

pynetdicom moves every DIMSE message through three threads, queues and pydicom-decoded command
sets: ~2 ms of CPU per instance, while dcmtk's getscu needs ~0.7 ms in all (bench/network.py:
this loop ~2x pynetdicom's C-GET). The socket is borrowed from the DUL reactor
(:class:`~app.network.pynetdicom_internals.sockets.SocketLease`) for the whole exchange:
P-DATA-TF PDUs parsed in place, command sets by hand (:mod:`app.network.dimse`), responses
sent at once. Association negotiation, release and abort stay with pynetdicom.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from typing import Any, Callable

from app.network import dimse
from app.network.pynetdicom_internals.sockets import SocketLease
from app.network.scu import NetworkError

STATUS_SOP_CLASS_NOT_SUPPORTED = 0x0122
PENDING = (0xFF00, 0xFF01)
RECV = 1024 * 1024
TICK = 0.1  # socket timeout: how often an idle loop checks cancel and deadlines
_HDR, _ITEM = struct.Struct(">BBL"), struct.Struct(">L")  # PDU fields are big endian, DIMSE fields little endian
COUNTS = {0x1020: "NumberOfRemainingSuboperations", 0x1021: "NumberOfCompletedSuboperations",
          0x1022: "NumberOfFailedSuboperations", 0x1023: "NumberOfWarningSuboperations"}
STOP = -1  # _message/_other_pdu: leave the loop (the PDU stays buffered for pynetdicom)

# store(dataset bytes, SOP class, SOP instance, transfer syntax) -> (status, error comment)
StoreFn = Callable[[bytearray, str, str, str], "tuple[int, str | None]"]
StatusFn = Callable[[dict[str, int]], None]


class PeerClosed(NetworkError):
    """The peer closed the connection."""


class PeerSilent(NetworkError):
    """No data within the timeout."""


class LeanLoop:
    """PDU and DIMSE framing on a borrowed socket; subclasses handle messages (:meth:`_message`)."""

    what = "DIMSE"

    def __init__(self, assoc: Any, *, timeout: float) -> None:
        self.assoc, self.timeout = assoc, timeout
        self.contexts = {cx.context_id: cx for cx in assoc.accepted_contexts}
        own, peer = (assoc.acceptor, assoc.requestor) if assoc.is_acceptor else (assoc.requestor, assoc.acceptor)
        self.peer_max = int(peer.maximum_length or 0) or 1 << 30
        self.own_max = int(own.maximum_length or 0) or 16 << 20
        self.lease = SocketLease(assoc)
        self.sock: socket.socket = self.lease.socket
        self.buf = bytearray()
        self.pos = self.end = 0
        self.cmd_buf, self.data_buf = bytearray(), bytearray()
        self.cmd: dict[int, bytes] | None = None

    # -- sending ---------------------------------------------------------------------------
    def _send_message(self, context_id: int, cmd: bytes, dataset: bytes | None = None) -> None:
        out = bytearray()
        for flag, payload in ((0x01, cmd), (0x00, dataset)):
            if payload is None:
                continue
            step = max(1, self.peer_max - 6)
            for i in range(0, max(len(payload), 1), step):
                part = payload[i:i + step]
                last = 0x02 if i + step >= len(payload) else 0
                out += _HDR.pack(4, 0, len(part) + 6) + _ITEM.pack(len(part) + 2)
                out += bytes([context_id, flag | last]) + part
        self.sock.sendall(out)

    # -- receiving -------------------------------------------------------------------------
    def _tick(self) -> None:
        """Per read and when idle (subclasses: cancel, deadlines); keeps pynetdicom's idle timer quiet."""
        self.lease.keep_alive()

    def _recv_more(self, need: int) -> None:
        """Read at least once into the buffer (``recv_into``: no extra copy); ticks while idle.

        ``need``: bytes the next PDU takes from ``pos`` (the buffer grows to hold it).
        """
        if self.pos == self.end:
            self.pos = self.end = 0
        elif self.pos and len(self.buf) - self.end < RECV:
            self.buf[: self.end - self.pos] = self.buf[self.pos: self.end]
            self.pos, self.end = 0, self.end - self.pos
        room = max(RECV, need - (self.end - self.pos))
        if len(self.buf) - self.end < room:
            self.buf.extend(bytes(room - (len(self.buf) - self.end)))
        last = time.monotonic()
        while True:
            try:
                with memoryview(self.buf) as view:
                    n = self.sock.recv_into(view[self.end:])
                break
            except (socket.timeout, ssl.SSLWantReadError):
                self._tick()
                if time.monotonic() - last > self.timeout:
                    raise PeerSilent(f"{self.what}: no data for {self.timeout:.0f} s") from None
        if not n:
            raise PeerClosed(f"{self.what}: the peer closed the connection")
        self.end += n

    def _loop(self) -> int:
        """Handle PDUs until :meth:`_message` or :meth:`_other_pdu` returns a result; returns it."""
        while True:
            result, need = self._parse()
            if result is not None:
                return result
            self._tick()
            self._recv_more(need)

    def _other_pdu(self, kind: int) -> int | None:
        """A PDU other than P-DATA-TF (not consumed): raise, or return a result to end the loop."""
        if kind == 0x07:
            raise NetworkError(f"{self.what}: the peer aborted the association")
        raise NetworkError(f"{self.what}: unexpected PDU type {kind:#04x}")

    def _parse(self) -> tuple[int | None, int]:
        """Handle every complete PDU buffered: (a result ending the loop or None, bytes the next PDU needs)."""
        with memoryview(self.buf) as view:
            while self.end - self.pos >= 6:
                kind, _, length = _HDR.unpack_from(view, self.pos)
                if kind != 0x04:
                    return self._other_pdu(kind), 6
                if length > self.own_max:
                    raise NetworkError(f"{self.what}: PDU of {length} bytes exceeds our maximum {self.own_max}")
                start, stop = self.pos + 6, self.pos + 6 + length
                if stop > self.end:
                    return None, 6 + length
                self.pos = stop
                while start + 6 <= stop:
                    item_len = _ITEM.unpack_from(view, start)[0]
                    if item_len < 2 or start + 4 + item_len > stop:
                        raise NetworkError(f"{self.what}: malformed PDV item")
                    result = self._fragment(view[start + 4], view[start + 5], view[start + 6: start + 4 + item_len])
                    start += 4 + item_len
                    if result is not None:
                        return result, 0
        return None, 6

    def _fragment(self, context_id: int, ctrl: int, fragment: memoryview) -> int | None:
        """One PDV: collect command or data set fragments; handle a message once complete."""
        if ctrl & 0x01:
            self.cmd_buf += fragment
            if not ctrl & 0x02:
                return None
            self.cmd, self.cmd_buf = self._parse_command(self.cmd_buf), bytearray()
            self.data_buf = bytearray()
            if dimse.u16(self.cmd, 0x0800, dimse.NO_DATASET) != dimse.NO_DATASET:
                return None  # a data set follows
        else:
            self.data_buf += fragment
            if not ctrl & 0x02:
                return None
        if self.cmd is None:
            raise NetworkError(f"{self.what}: data set without a command")
        cmd, data, self.cmd, self.data_buf = self.cmd, self.data_buf, None, bytearray()
        return self._message(cmd, data, context_id)

    def _message(self, cmd: dict[int, bytes], data: bytearray, context_id: int) -> int | None:
        raise NotImplementedError

    def _store_rsp(self, store: StoreFn, cmd: dict[int, bytes], data: bytearray, context_id: int) -> None:
        """Answer a C-STORE-RQ after ``store`` decided its status."""
        sop_class, sop_instance = dimse.text(cmd, 0x0002), dimse.text(cmd, 0x1000)
        cx = self.contexts.get(context_id)
        if cx is None or cx.abstract_syntax != sop_class:
            status, comment = STATUS_SOP_CLASS_NOT_SUPPORTED, "no such presentation context"
        else:
            status, comment = store(data, sop_class, sop_instance, str(cx.transfer_syntax[0]))
        self._send_message(context_id, dimse.store_rsp(sop_class, sop_instance, dimse.u16(cmd, 0x0110),
                                                       status, comment))

    def _parse_command(self, data: bytearray) -> dict[int, bytes]:
        try:
            return dimse.parse_command(data)
        except dimse.CommandError as exc:
            raise NetworkError(f"{self.what}: {exc}") from None


class LeanGet(LeanLoop):
    """One C-GET on ``assoc`` (established, C-GET context and SCP-role storage contexts accepted)."""

    what = "C-GET"

    def __init__(self, assoc: Any, store: StoreFn, on_status: StatusFn, *, timeout: float = 60.0,
                 cancel: threading.Event | None = None, grace: float = 10.0) -> None:
        super().__init__(assoc, timeout=timeout)
        self.store, self.on_status = store, on_status
        self.cancel, self.grace = cancel, grace
        self.cancel_sent = False

    def _send_cancel(self, context_id: int, msg_id: int) -> None:
        self._send_message(context_id, dimse.cancel_rq(msg_id))
        self.cancel_sent = True

    def _tick(self) -> None:
        """Per read and when idle: keep pynetdicom's idle timer quiet, send C-CANCEL, enforce grace."""
        super()._tick()
        if self.cancel is not None and self.cancel.is_set():
            if not self.cancel_sent:
                self._send_cancel(self._context, self._msg_id)
                self._cancelled_at = time.monotonic()
            elif time.monotonic() - self._cancelled_at > self.grace:
                raise NetworkError("C-GET: the peer did not stop after C-CANCEL")

    # -- the exchange ----------------------------------------------------------------------
    def run(self, query_model: str, identifier: bytes, msg_id: int = 1) -> int:
        """Send the C-GET-RQ, serve the sub-operations, return the final status."""
        get_cx = next((c for c in self.contexts.values() if c.abstract_syntax == query_model), None)
        if get_cx is None:
            raise NetworkError("C-GET: the peer did not accept the query/retrieve model")
        self._context, self._msg_id, self._cancelled_at = get_cx.context_id, msg_id, 0.0
        self.buf = self.lease.take()
        self.pos, self.end = 0, len(self.buf)
        old_timeout = self.sock.gettimeout()
        self.sock.settimeout(TICK)
        try:
            self._send_message(get_cx.context_id, dimse.get_rq(query_model, msg_id), identifier)
            return self._loop()
        finally:
            self.sock.settimeout(old_timeout)
            self.lease.give_back(self.buf[self.pos: self.end])

    def _message(self, cmd: dict[int, bytes], data: bytearray, context_id: int) -> int | None:
        field = dimse.u16(cmd, 0x0100)
        if field == 0x0001:  # C-STORE-RQ (a sub-operation)
            self._store_rsp(self.store, cmd, data, context_id)
            return None
        if field == 0x8010 and dimse.u16(cmd, 0x0120) == self._msg_id:  # C-GET-RSP
            status = dimse.u16(cmd, 0x0900)
            report = {"Status": status, **{name: dimse.u16(cmd, e) for e, name in COUNTS.items() if e in cmd}}
            self.on_status(report)
            return None if status in PENDING else status
        return None  # nothing else is expected here; ignore it
