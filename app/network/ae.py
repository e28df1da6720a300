"""pynetdicom Application Entities and an association server built on :class:`DicomSocket`.

Importing this module imports pynetdicom (~0.45 s): callers import it lazily, on first use.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from copy import deepcopy
from typing import Any

from pynetdicom import AE, _config, evt
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from app.network import fastpath
from app.network.transport import DicomSocket, Limits

LOG = logging.getLogger(__name__)

DEFAULT_MAX_PDU = 1024 * 1024  # what we advertise (and enforce) for P-DATA-TF PDUs we receive

# pynetdicom's default "standard" event handlers format every PDU for its debug log: ~10% of a
# transfer. We log our own summaries instead.
_config.LOG_HANDLER_LEVEL = "none"
# A dataset's UIDs are checked by us (with a precise failure status), not by pynetdicom.
_config.ENFORCE_UID_CONFORMANCE = False


class TeleradAE(AE):
    """An AE whose requestor associations use :class:`DicomSocket`."""

    def _create_socket(self, assoc: Any, address: Any, tls_args: Any) -> DicomSocket:
        sock = DicomSocket(assoc, address=address)
        sock.tls_args = tls_args
        fastpath.install(assoc)
        return sock


def make_ae(ae_title: str, *, max_pdu: int = DEFAULT_MAX_PDU, timeout: float = 30.0) -> TeleradAE:
    """A requestor/acceptor AE with our timeouts (connection, ACSE, DIMSE, idle network)."""
    from app.dicom.part10 import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

    ae = TeleradAE(ae_title=ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.maximum_pdu_size = max_pdu
    ae.connection_timeout = min(timeout, 10.0)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    return ae


class _HardenedHandler(RequestHandler):
    """Creates acceptor associations on a :class:`DicomSocket` with the server's limits."""

    server: "HardenedServer"

    def handle(self) -> None:
        if isinstance(self.request, ssl.SSLSocket) and not self._tls_handshake():
            return
        super().handle()

    def _tls_handshake(self) -> bool:
        """The TLS handshake runs here, in the connection's thread, under the request deadline."""
        sock = self.request
        try:
            sock.settimeout(self.server.limits.request_deadline or 10.0)
            sock.do_handshake()
            sock.settimeout(None)
            return True
        except (OSError, ValueError) as exc:
            host = str(self.client_address[0])
            LOG.warning("TLS handshake from %s failed: %s", host, exc)
            if self.server.limits.on_refused is not None:
                self.server.limits.on_refused(host, f"TLS handshake failed: {exc}")
            try:
                sock.close()
            except OSError:
                pass
            return False

    def _create_association(self) -> Any:
        from pynetdicom._globals import MODE_ACCEPTOR
        from pynetdicom.association import Association

        ae, server = self.ae, self.server
        assoc = Association(ae, MODE_ACCEPTOR)
        assoc._server = server
        assoc.name = "AcceptorThread@telerad"
        assoc.set_socket(DicomSocket(assoc, client_socket=self.request, limits=server.limits))
        assoc.acceptor.maximum_length = ae.maximum_pdu_size
        assoc.acceptor.ae_title = server.ae_title
        assoc.acceptor.address_info = self.local
        assoc.acceptor.implementation_class_uid = ae.implementation_class_uid
        assoc.acceptor.implementation_version_name = ae.implementation_version_name
        assoc.acceptor.supported_contexts = deepcopy(server.contexts)
        assoc.requestor.address_info = self.remote
        fastpath.install(assoc)
        for event, handlers in server._handlers.items():
            if event.is_intervention and handlers:
                assoc.bind(event, *handlers)
            elif isinstance(event, evt.NotificationEvent):
                for handler, args in handlers:  # type: ignore[misc]
                    assoc.bind(event, handler, args)
        return assoc


class HardenedServer(ThreadedAssociationServer):
    """Threaded association server: TLS handshakes off the accept loop, limits per association."""

    limits: Limits = Limits()
    daemon_threads = True
    block_on_close = False

    def get_request(self) -> tuple[socket.socket, Any]:
        client, address = self.socket.accept()
        if self.ssl_context:
            client = self.ssl_context.wrap_socket(client, server_side=True, do_handshake_on_connect=False)
        return client, address


def start_server(ae: TeleradAE, host: str, port: int, *, limits: Limits,
                 ssl_context: ssl.SSLContext | None = None,
                 handlers: list[Any] | None = None) -> HardenedServer:
    """Start a non-blocking hardened server (``server.shutdown()`` stops it)."""
    server = ae.make_server((host, port), ae_title=ae.ae_title, contexts=ae.supported_contexts,
                            ssl_context=ssl_context, evt_handlers=handlers or [],
                            server_class=HardenedServer, request_handler=_HardenedHandler)
    server.limits = limits
    thread = threading.Thread(target=server.serve_forever, name=f"DicomServer@{port}", daemon=True)
    thread.start()
    ae._servers.append(server)
    return server
