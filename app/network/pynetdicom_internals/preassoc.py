"""The pre-association phase of an accepted connection, before any pynetdicom Association exists.

A connection first takes a place in a :class:`PendingGate` (per address and overall; a newcomer past
a limit cuts the oldest), then must deliver one whole, decodable A-ASSOCIATE-RQ from a calling AE we
know before ``Limits.request_deadline``. Only then is an Association built, so refused, mutated or
dripping peers never hold an association slot (pynetdicom counts Association threads).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections import OrderedDict
from typing import Iterator

from app.network.limits import Limits

LOG = logging.getLogger(__name__)

RQ_CAP = 64 * 1024  # longest A-ASSOCIATE-RQ we read
ABORT_PDU = bytes([0x07, 0, 0, 0, 0, 4, 0, 0, 2, 0])  # A-ABORT, source: service provider


def reject_pdu(reason: int) -> bytes:
    """A-ASSOCIATE-RJ: rejected-permanent (1), by the service user (1), with ``reason``."""
    return bytes([0x03, 0, 0, 0, 0, 4, 0, 1, 1, reason])


# A-ASSOCIATE-RJ: rejected-transient (2), service provider / presentation (3), local limit exceeded (2)
BUSY_PDU = bytes([0x03, 0, 0, 0, 0, 4, 0, 2, 3, 2])


class AddressSlots:
    """Live associations per peer address, for ``Limits.associations_per_address``."""

    def __init__(self, per_address: int | None) -> None:
        self._per_address = per_address
        self._lock = threading.Lock()
        self._live: dict[str, list[object]] = {}

    def admit(self, host: str, assoc: object) -> bool:
        """Count ``assoc`` for ``host`` unless the address already holds its share."""
        with self._lock:
            live = [a for a in self._live.get(host, []) if a.ident is None or a.is_alive()]  # type: ignore[attr-defined]
            if self._per_address is not None and len(live) >= self._per_address:
                self._live[host] = live
                return False
            self._live[host] = live + [assoc]
            return True


class Penalties:
    """Addresses that sent malformed requests: ``strikes`` of them within ``window`` s block the
    address for ``cooldown`` s, its connections then closed at accept (no thread, no parsing).
    Refused AE titles and slow peers are no strike: only bytes no DICOM peer would send."""

    def __init__(self, strikes: int = 10, window: float = 10.0, cooldown: float = 30.0) -> None:
        self._strikes, self._window, self.cooldown = strikes, window, cooldown
        self._lock = threading.Lock()
        self._recent: dict[str, list[float]] = {}
        self._until: dict[str, float] = {}

    def strike(self, host: str) -> bool:
        """Count one malformed request; True when this strike blocks the address."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._recent.get(host, []) if now - t < self._window] + [now]
            self._recent[host] = recent
            if len(recent) < self._strikes or self._until.get(host, 0.0) > now:
                return False
            self._until[host], self._recent[host] = now + self.cooldown, []
            return True

    def blocked(self, host: str) -> bool:
        with self._lock:
            return self._until.get(host, 0.0) > time.monotonic()


def refuse(sock: socket.socket, peer: str, reason: str, limits: Limits | None, pdu: bytes = ABORT_PDU) -> None:
    """Log and report the refusal, send ``pdu`` (best effort) and shut the connection down."""
    LOG.warning("refusing association from %s: %s", peer, reason)
    if limits is not None and limits.on_refused is not None:
        try:
            limits.on_refused(peer, reason)
        except Exception:  # an audit failure (e.g. a full disk) must not keep the connection open
            LOG.exception("on_refused callback failed")
    try:
        sock.settimeout(1.0)
        sock.sendall(pdu)
    except (OSError, ValueError):
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


class PendingGate:
    """Connections not yet associated, oldest first; admitting past a limit cuts the oldest."""

    def __init__(self, per_address: int, total: int) -> None:
        self._per_address, self._total = max(1, per_address), max(1, total)
        self._lock = threading.Lock()
        self._pending: OrderedDict[int, tuple[str, socket.socket]] = OrderedDict()
        self.evicted = 0

    def admit(self, host: str, sock: socket.socket) -> int:
        """Register a connection; returns its token for :meth:`release`."""
        victims: list[socket.socket] = []
        with self._lock:
            same = [k for k, (h, _) in self._pending.items() if h == host]
            while len(same) >= self._per_address:
                victims.append(self._pending.pop(same.pop(0))[1])
            while len(self._pending) >= self._total:
                victims.append(self._pending.popitem(last=False)[1][1])
            token = id(sock)
            self._pending[token] = (host, sock)
            self.evicted += len(victims)
        for victim in victims:  # its owner's read then fails and it ends
            try:
                victim.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass
        return token

    def release(self, token: int) -> bool:
        """Remove a connection; False if it had been cut meanwhile."""
        with self._lock:
            return self._pending.pop(token, None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


def _recv_exact(sock: socket.socket, n: int, end: float | None) -> bytes | None:
    """``n`` bytes before ``end`` (monotonic), or None (closed, cut, too slow)."""
    parts, got = [], 0
    while got < n:
        if end is not None:
            left = end - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - got, 65536))
        except (OSError, ValueError):
            return None
        if not chunk:
            return None
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _decode_check(pdu: bytes) -> str | None:
    """Why pynetdicom could not turn this A-ASSOCIATE-RQ into a primitive, or None."""
    from pynetdicom.pdu import A_ASSOCIATE_RQ

    try:
        rq = A_ASSOCIATE_RQ()
        rq.decode(pdu)
        rq.to_primitive()
    except Exception as exc:
        return f"undecodable A-ASSOCIATE-RQ ({type(exc).__name__})"
    return None


def read_request(sock: socket.socket, peer: str, limits: Limits, started: float,
                 penalties: Penalties | None = None) -> bytes | None:
    """The whole A-ASSOCIATE-RQ, checked (length, deadline, decoding, access); None once refused.
    A malformed request is a strike against ``peer`` in ``penalties``."""

    def malformed(reason: str) -> None:
        refuse(sock, peer, reason, limits)
        if penalties is not None and penalties.strike(peer):
            LOG.warning("blocking %s for %.0f s: repeated malformed requests", peer, penalties.cooldown)
            if limits.on_refused is not None:
                try:
                    limits.on_refused(peer, "blocked for a while after repeated malformed requests")
                except Exception:
                    LOG.exception("on_refused callback failed")

    end = None if limits.request_deadline is None else started + limits.request_deadline
    header = _recv_exact(sock, 6, end)
    if header is None:
        refuse(sock, peer, "no A-ASSOCIATE-RQ before the request deadline", limits)
        return None
    pdu_type, _, length = struct.unpack(">BBL", header)
    if pdu_type != 0x01 or not 68 <= length <= RQ_CAP:
        malformed(f"expected an A-ASSOCIATE-RQ, got PDU type {pdu_type:#04x} of {length} bytes")
        return None
    body = _recv_exact(sock, length, end)
    if body is None:
        refuse(sock, peer, "A-ASSOCIATE-RQ incomplete at the request deadline", limits)
        return None
    pdu = header + body
    problem = _decode_check(pdu)
    if problem is not None:
        malformed(problem)
        return None
    return pdu if _access_ok(sock, peer, pdu, limits) else None


def _access_ok(sock: socket.socket, peer: str, pdu: bytes, limits: Limits) -> bool:
    if limits.access is None:
        return True
    called = pdu[10:26].decode("ascii", "replace").strip()
    calling = pdu[26:42].decode("ascii", "replace").strip()
    reason = limits.access(calling, called, peer)
    if reason is None:
        return True
    refuse(sock, peer, f"calling AE {calling!r} / called AE {called!r} not allowed (reason {reason})", limits,
           reject_pdu(reason))
    return False


@contextlib.contextmanager
def pending(gate: PendingGate, host: str, sock: socket.socket) -> Iterator[int]:
    """A place in ``gate`` for the pre-association phase of one connection."""
    token = gate.admit(host, sock)
    try:
        yield token
    finally:
        gate.release(token)
