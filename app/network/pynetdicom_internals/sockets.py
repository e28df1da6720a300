"""A hardened, faster socket layer under pynetdicom (internals: see :mod:`.relied_on`).

:class:`DicomSocket` replaces pynetdicom's ``AssociationSocket`` for every association we make or
accept. It

* sets ``TCP_NODELAY`` (dcmtk/Orthanc otherwise stall ~44 ms per response with Nagle),
* reads in large chunks and refuses any PDU longer than allowed *before* reading its body
  (pynetdicom reads whatever length a peer declares),
* enforces overall deadlines (whole association within M s; the A-ASSOCIATE-RQ is read first by
  :mod:`.preassoc`, before any Association exists) that a
  peer dripping one byte at a time cannot extend,
* merges consecutive P-DATA-TF PDUs of one DIMSE message that are already buffered into one PDU
  (PDV items kept as they are), so pynetdicom's per-PDU Python work runs once per batch, and
* wakes the DUL reactor through a socket pair instead of sleeping 1 ms per idle loop.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import ssl
import struct
import threading
import time
from typing import Any

from pynetdicom.transport import AssociationSocket

from app.network.limits import Limits
from app.network.pynetdicom_internals.preassoc import ABORT_PDU, refuse

LOG = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAX_MERGED = 8 * 1024 * 1024
NON_DATA_PDU_CAP = 64 * 1024  # A-ASSOCIATE-RQ/AC/RJ, release, abort
POLL = 0.02  # longest the reactor sleeps when nothing happens (kill/timer checks)


def set_nodelay(sock: socket.socket) -> None:
    """Disable Nagle's algorithm on a TCP socket (ignored on non-TCP sockets)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


class _WakingQueue(queue.Queue):  # type: ignore[type-arg]
    """The DUL's outgoing queue: every put wakes the reactor blocked in ``select``."""

    def __init__(self, wake: socket.socket) -> None:
        super().__init__()
        self._wake = wake

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        try:
            self._wake.send(b"\0")
        except OSError:  # buffer full (already awake) or closed
            pass


class DicomSocket(AssociationSocket):
    """pynetdicom association socket with limits, coalescing and event-driven wake-ups."""

    def __init__(self, assoc: Any, client_socket: socket.socket | None = None,
                 address: Any = None, limits: Limits | None = None, request: bytes | None = None) -> None:
        self._limits = limits
        self._rbuf = bytearray(request or b"")  # an acceptor's A-ASSOCIATE-RQ, already checked
        self._rpos = 0
        self._pending: bytearray | None = None
        self._started = time.monotonic()
        self._associated = request is not None
        self._paused = False  # a lean DIMSE loop owns the socket (see hand_over)
        self._parked = threading.Event()
        self.park_after_accept = False  # an acceptor served by a lean loop: read nothing after the A-ASSOCIATE-AC
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        super().__init__(assoc, client_socket=client_socket, address=address)
        if self.socket is not None:
            set_nodelay(self.socket)
        assoc.dul.to_provider_queue = _WakingQueue(self._wake_w)
        assoc.dul._run_loop_delay = 0.0

    # -- deadlines -------------------------------------------------------------------------
    def _deadline(self) -> float | None:
        if self._limits is None:
            return None
        span = self._limits.association_deadline if self._associated else self._limits.request_deadline
        return None if span is None else self._started + span

    def _remaining(self) -> float | None:
        end = self._deadline()
        return None if end is None else end - time.monotonic()

    def refuse(self, reason: str, pdu: bytes = ABORT_PDU) -> None:
        """Send ``pdu`` (an A-ABORT by default) and shut the connection; the reactor then ends."""
        if self.socket is not None:
            refuse(self.socket, self._peer_host(), reason, self._limits, pdu)

    def _peer_host(self) -> str:
        try:
            return str(self.socket.getpeername()[0]) if self.socket is not None else "?"
        except OSError:
            return "?"

    # -- reading ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        if self._paused:
            self._parked.set()
            time.sleep(POLL)
            return False
        sock = self.socket
        if sock is None or self._is_connected is False:
            return False
        if self._pending is not None or len(self._rbuf) > self._rpos:
            return True
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            self.refuse("association deadline passed")
            return True  # the read now sees the closed connection (Evt17)
        wait = POLL if remaining is None else max(0.0, min(POLL, remaining))
        try:
            readable, _, _ = select.select([sock, self._wake_r], [], [], wait)
        except (OSError, ValueError):
            self.event_queue.put("Evt17")
            return False
        if self._wake_r in readable:
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:
                pass
        return sock in readable

    def _fill(self, need: int) -> bool:
        """Read until ``need`` bytes are buffered; False if the peer closed or went silent."""
        sock = self.socket
        if self._rpos > CHUNK and self._rpos * 2 > len(self._rbuf):
            del self._rbuf[: self._rpos]
            self._rpos = 0
        while len(self._rbuf) - self._rpos < need:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                self.refuse("association deadline passed")
                return False
            idle = self.assoc.network_timeout
            timeouts = [t for t in (remaining, idle) if t is not None]
            sock.settimeout(min(timeouts) if timeouts else None)
            try:
                data = sock.recv(max(CHUNK, need - (len(self._rbuf) - self._rpos)))
            except (OSError, ValueError):
                return False
            if not data:
                return False
            self._rbuf += data
        return True

    def _take(self, n: int) -> bytearray:
        out = self._rbuf[self._rpos: self._rpos + n]
        self._rpos += len(out)
        return out

    def _cap(self, pdu_type: int) -> int:
        if pdu_type != 0x04:
            return NON_DATA_PDU_CAP
        own = self.assoc.acceptor if self.assoc.is_acceptor else self.assoc.requestor
        return int(own.maximum_length or 0) or MAX_MERGED

    def recv(self, nr_bytes: int) -> bytearray:
        """The DUL asks for a 6-byte header, then for the body: serve both from one read."""
        if self._pending is not None:
            body, self._pending = self._pending, None
            return body
        if not self._fill(6):
            return bytearray()
        pdu_type, _, length = struct.unpack_from(">BBL", self._rbuf, self._rpos)
        if length > self._cap(pdu_type):
            self.refuse(f"PDU type {pdu_type:#04x} declares {length} bytes, limit {self._cap(pdu_type)}")
            return bytearray()
        header = self._take(6)
        if not self._fill(length):
            self._pending = self._take(length)  # short: the DUL sees a truncated PDU (Evt17)
            return header
        body = self._take(length)
        if pdu_type == 0x01:
            self._associated = True
        elif pdu_type == 0x04:
            body = self._merge(body)
            header = bytearray(struct.pack(">BBL", 4, 0, len(body)))
        self._pending = body
        return header

    def _merge(self, body: bytearray) -> bytearray:
        """Append already-buffered P-DATA-TF PDUs until a PDV ends a command or data set."""
        while not _ends_message(body) and len(body) < MAX_MERGED:
            avail = len(self._rbuf) - self._rpos
            if avail < 6:
                break
            pdu_type, _, length = struct.unpack_from(">BBL", self._rbuf, self._rpos)
            if pdu_type != 0x04 or length > self._cap(4) or avail < 6 + length:
                break
            self._rpos += 6
            body += self._take(length)
        return body

    # -- lending the socket to a lean DIMSE loop (see SocketLease) ---------------------------
    def send(self, bytestream: bytes) -> None:
        """Send (in the DUL's thread); with ``park_after_accept`` the A-ASSOCIATE-AC also parks the reads,
        so the peer's first P-DATA stays for the lean loop."""
        super().send(bytestream)
        if self.park_after_accept and bytestream[:1] == b"\x02":
            self.park_after_accept = False
            self._parked.clear()
            self._paused = True

    def hand_over(self, timeout: float = 5.0) -> bytearray:
        """Park the DUL reactor's reads; returns what it had buffered. The caller owns the socket
        (no pynetdicom operation may run) until :meth:`take_back`."""
        if self._pending is not None:
            raise RuntimeError("a PDU is half delivered to the DUL")
        if not (self._paused and self._parked.is_set()):  # not parked already (after the A-ASSOCIATE-AC)
            self._parked.clear()
            self._paused = True
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass
            if not self._parked.wait(timeout):
                self._paused = False
                raise RuntimeError("the DUL reactor did not park")
        out = self._rbuf[self._rpos:]
        self._rbuf, self._rpos = bytearray(), 0
        return out

    def resume(self) -> None:
        """Let the DUL reactor read again, keeping what is buffered (no-op when not parked)."""
        self._paused = False

    def take_back(self, leftover: bytes | bytearray = b"") -> None:
        """Give the socket back to the DUL reactor with bytes the lean loop read beyond its messages."""
        self._rbuf, self._rpos = bytearray(leftover), 0
        self._paused = False

    def close(self) -> None:
        super().close()
        for s in (self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass


def _ends_message(body: bytes | bytearray) -> bool:
    """True if a PDV in this P-DATA-TF body is the last fragment of a command or data set."""
    pos, n = 0, len(body)
    while pos + 6 <= n:
        (item_len,) = struct.unpack_from(">L", body, pos)
        if body[pos + 5] & 0x02:
            return True
        pos += 4 + item_len
    return False


class SocketLease:
    """An established association's socket, lent to a loop that runs DIMSE itself (app.network.lean).

    :meth:`take` parks the DUL reactor and returns what it had buffered; until :meth:`give_back`
    no pynetdicom operation may run; :meth:`keep_alive` stops the idle timer from aborting meanwhile.
    """

    def __init__(self, assoc: Any) -> None:
        self._assoc = assoc
        self._dsock: DicomSocket = assoc.dul.socket
        self._timer = assoc.dul._idle_timer
        self.socket: socket.socket = self._dsock.socket

    def take(self) -> bytearray:
        return self._dsock.hand_over()

    def give_back(self, leftover: bytes | bytearray = b"") -> None:
        self._dsock.take_back(leftover)

    def keep_alive(self) -> None:
        self._timer.restart()

    def ended(self) -> bool:
        """The association was aborted or killed meanwhile (e.g. by a server shutdown)."""
        return bool(self._assoc.is_aborted or self._assoc._kill)

    def deadline_passed(self) -> bool:
        """The association deadline of the socket's limits is over."""
        remaining = self._dsock._remaining()
        return remaining is not None and remaining <= 0

    def refuse(self, reason: str) -> None:
        """A-ABORT and shut the connection (after :meth:`give_back`): pynetdicom then sees it closed."""
        self._dsock.refuse(reason)
