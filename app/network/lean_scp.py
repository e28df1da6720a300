"""Our Storage SCP's DIMSE service run by hand (C-STORE, C-ECHO) once pynetdicom has accepted the association.

A C-MOVE's instances arrive here. pynetdicom's acceptor took ~1.5 ms more per C-STORE than the peer
needs (DUL thread, DIMSE queue, pydicom-decoded command sets, a 1 ms sleep per reactor loop:
bench/network.py had C-MOVE at 0.35-0.45x dcmtk getscu). This loop reads the PDUs in the association's
own thread (:class:`~app.network.lean.LeanLoop`) and answers each C-STORE as soon as ``store`` returns,
which is when the instance is durable (:func:`app.network.received.check_store`). A-RELEASE-RQ,
A-ABORT or a closed connection end the loop: pynetdicom gets the socket back with the unread bytes and
does the release or abort as before. Deadlines and PDU limits are the same as on the DUL's socket.
"""

from __future__ import annotations

import logging
from typing import Any

from app.network import dimse
from app.network.lean import TICK, LeanLoop, PeerClosed, PeerSilent, StoreFn
from app.network.scu import NetworkError
from app.tasks.killpoints import from_env

LOG = logging.getLogger(__name__)
VERIFICATION = "1.2.840.10008.1.1"
crashpoint = from_env("TELERAD_CRASHPOINT")  # test-only: "after_store_rsp:N" (app.tasks.killpoints)


class _Ended(Exception):
    """The association was aborted or killed from elsewhere (e.g. the SCP stops)."""


class LeanStoreSCP(LeanLoop):
    """C-STORE and C-ECHO service on an established acceptor association."""

    what = "C-STORE SCP"

    def __init__(self, assoc: Any, store: StoreFn) -> None:
        super().__init__(assoc, timeout=float(assoc.network_timeout or 60.0))
        self.store = store

    def serve(self) -> None:
        """Serve until the peer releases, aborts, closes or stalls; the socket then goes back to pynetdicom."""
        self.buf = self.lease.take()
        self.pos, self.end = 0, len(self.buf)
        old_timeout = self.sock.gettimeout()
        self.sock.settimeout(TICK)
        refusal, silent = None, False
        try:
            self._loop()
        except (PeerClosed, _Ended, OSError):
            pass  # pynetdicom sees the closed connection or has already ended the association
        except PeerSilent:
            silent = True
        except NetworkError as exc:  # malformed or oversized PDU, unexpected command
            refusal = str(exc)
        finally:
            try:
                self.sock.settimeout(old_timeout)
            except OSError:
                pass
            self.lease.give_back(self.buf[self.pos: self.end])
        if refusal is not None:
            self.lease.refuse(refusal)
        elif silent:
            LOG.warning("%s: peer idle for %.0f s, aborting", self.what, self.timeout)
            self.assoc.abort()

    def _tick(self) -> None:
        super()._tick()
        if self.lease.ended():
            raise _Ended()
        if self.lease.deadline_passed():
            raise NetworkError("association deadline passed")

    def _other_pdu(self, kind: int) -> int | None:
        return 0  # release, abort or anything else: pynetdicom's state machine takes it from here

    def _message(self, cmd: dict[int, bytes], data: bytearray, context_id: int) -> int | None:
        field = dimse.u16(cmd, 0x0100)
        if field == 0x0001:  # C-STORE-RQ
            self._store_rsp(self.store, cmd, data, context_id)
            crashpoint("after_store_rsp")
            return None
        cx = self.contexts.get(context_id)
        if field == 0x0030 and cx is not None and cx.abstract_syntax == VERIFICATION:  # C-ECHO-RQ
            self._send_message(context_id, dimse.echo_rsp(dimse.u16(cmd, 0x0110)))
            return None
        if field == 0x0FFF:  # C-CANCEL-RQ: nothing runs long enough to cancel
            return None
        raise NetworkError(f"{self.what}: unexpected DIMSE command {field:#06x} on context {context_id}")
