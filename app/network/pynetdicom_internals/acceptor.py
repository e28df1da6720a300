"""The association server: TLS handshake and A-ASSOCIATE-RQ checked before any Association exists
(:mod:`.preassoc`), then pynetdicom's acceptor on a DicomSocket with the server's limits."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from typing import Any, Callable

from pynetdicom import evt
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from app.network.limits import Limits
from app.network.pynetdicom_internals import preassoc
from app.network.pynetdicom_internals.sockets import DicomSocket
from app.network.pynetdicom_internals.store_rsp import fast_store_rsp

LOG = logging.getLogger(__name__)
REQUEST_PRIMITIVE_WAIT = 2.0  # s from the association's start to the decoded A-ASSOCIATE-RQ


class HardenedHandler(RequestHandler):
    """Creates acceptor associations on a :class:`DicomSocket` with the server's limits."""

    server: "HardenedServer"

    def handle(self) -> None:
        """Pre-association phase here (no Association, no slot); then pynetdicom's association."""
        server, sock = self.server, self.request
        host = str(self.client_address[0])
        with preassoc.pending(server.gate, host, sock):
            started = time.monotonic()
            request = None
            if not isinstance(sock, ssl.SSLSocket) or self._tls_handshake(started):
                request = preassoc.read_request(sock, host, server.limits, started, server.penalties)
        if request is None:
            _close(sock)
            return
        sock.settimeout(None)
        assoc = self._create_association(request)
        if not server.slots.admit(host, assoc):  # never started: it holds nothing
            preassoc.refuse(sock, host, "this address already holds its share of associations",
                            server.limits, preassoc.BUSY_PDU)
            _close(sock)
            return
        evt.trigger(assoc, evt.EVT_CONN_OPEN, {"address": self.client_address})
        assoc.start()

    def _tls_handshake(self, started: float) -> bool:
        """The TLS handshake runs here, in the connection's thread, under the request deadline."""
        sock = self.request
        try:
            sock.settimeout(self.server.limits.request_deadline or 10.0)
            sock.do_handshake()
            return True
        except (OSError, ValueError) as exc:
            host = str(self.client_address[0])
            LOG.warning("TLS handshake from %s failed: %s", host, exc)
            if self.server.limits.on_refused is not None:
                try:
                    self.server.limits.on_refused(host, f"TLS handshake failed: {exc}")
                except Exception:
                    LOG.exception("on_refused callback failed")
            return False

    def _create_association(self, request: bytes) -> Any:
        from pynetdicom._globals import MODE_ACCEPTOR
        from pynetdicom.association import Association

        ae, server = self.ae, self.server
        assoc = Association(ae, MODE_ACCEPTOR)
        assoc._server = server
        assoc.name = "AcceptorThread@telerad"
        assoc.set_socket(DicomSocket(assoc, client_socket=self.request, limits=server.limits, request=request))
        _short_wait_for_request(assoc)
        assoc.acceptor.maximum_length = ae.maximum_pdu_size
        assoc.acceptor.ae_title = server.ae_title
        assoc.acceptor.address_info = self.local
        assoc.acceptor.implementation_class_uid = ae.implementation_class_uid
        assoc.acceptor.implementation_version_name = ae.implementation_version_name
        assoc.acceptor.supported_contexts = server.contexts  # negotiation reads them only (no deepcopy: ~35 ms)
        assoc.requestor.address_info = self.remote
        fast_store_rsp(assoc)
        _bind_server_handlers(assoc, server)
        if server.lean is not None:
            lean_service(assoc, server.lean)
        return assoc


def lean_service(assoc: Any, serve: Callable[[Any], None]) -> None:
    """Once established, ``serve(assoc)`` runs the association's DIMSE (app.network.lean_scp) on the socket
    it borrows; pynetdicom's reactor then does the release or abort. If pynetdicom already holds part
    of a message (a peer that sent before our A-ASSOCIATE-AC), pynetdicom serves the association."""
    dsock = assoc.dul.socket
    dsock.park_after_accept = True
    stock = assoc._run_reactor

    def run_reactor() -> None:
        try:
            if assoc.dimse.msg_queue.empty() and assoc.dimse.message is None:
                serve(assoc)
        except Exception:
            LOG.exception("lean DIMSE service failed")
        dsock.resume()
        stock()

    assoc._run_reactor = run_reactor


def _short_wait_for_request(assoc: Any) -> None:
    """The A-ASSOCIATE-RQ is already buffered: wait for its primitive briefly, not ``acse_timeout``."""
    normal = assoc.acse_timeout

    def restore(event: Any) -> None:
        event.assoc.acse_timeout = normal

    assoc.acse_timeout = REQUEST_PRIMITIVE_WAIT
    assoc.bind(evt.EVT_REQUESTED, restore)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def _bind_server_handlers(assoc: Any, server: ThreadedAssociationServer) -> None:
    """The server's event handlers on a new association (as pynetdicom's own handler does)."""
    for event in server.get_events():
        handlers = server.get_handlers(event)
        if event.is_intervention and handlers and handlers[0] is not None:
            assoc.bind(event, *handlers)
        elif isinstance(event, evt.NotificationEvent):
            for handler, args in handlers:  # type: ignore[misc]
                assoc.bind(event, handler, args)


class HardenedServer(ThreadedAssociationServer):
    """Threaded association server whose TLS handshakes run in each connection's thread."""

    limits: Limits = Limits()
    lean: Callable[[Any], None] | None = None  # serves an established association's DIMSE (see lean_service)
    gate: preassoc.PendingGate = preassoc.PendingGate(4, 64)
    slots: preassoc.AddressSlots = preassoc.AddressSlots(None)
    penalties: preassoc.Penalties = preassoc.Penalties()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """A blocked address is closed at accept, before any thread or read."""
        return not self.penalties.blocked(str(client_address[0]))
    daemon_threads = True
    block_on_close = False
    # socketserver's listen backlog is 5: a burst of connections then drops the SYN of a real peer,
    # which retries after 1 s, then 3 s (the kernel caps this at net.core.somaxconn)
    request_queue_size = 256

    def get_request(self) -> tuple[socket.socket, Any]:
        client, address = self.socket.accept()
        if self.ssl_context:
            client = self.ssl_context.wrap_socket(client, server_side=True, do_handshake_on_connect=False)
        return client, address


def start(ae: Any, address: tuple[str, int], *, limits: Limits, ssl_context: ssl.SSLContext | None,
          handlers: list[Any], lean: Callable[[Any], None] | None = None) -> HardenedServer:
    """A :class:`HardenedServer` serving ``ae`` on its own thread, registered with ``ae`` as
    ``AE.start_server`` does (its ``shutdown`` unregisters it)."""
    server = ae.make_server(address, ae_title=ae.ae_title, contexts=ae.supported_contexts,
                            ssl_context=ssl_context, evt_handlers=handlers,
                            server_class=HardenedServer, request_handler=HardenedHandler)
    server.limits = limits
    server.lean = lean
    server.gate = preassoc.PendingGate(limits.pending_per_address, limits.pending_total)
    server.slots = preassoc.AddressSlots(limits.associations_per_address)
    server.penalties = preassoc.Penalties()
    threading.Thread(target=server.serve_forever, name=f"DicomServer@{address[1]}", daemon=True).start()
    ae._servers.append(server)
    return server
