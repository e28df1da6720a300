"""Application Entities with our timeouts, and the hardened association server.

Importing this module imports pynetdicom (~0.45 s): callers import it lazily, on first use.
Everything relying on pynetdicom internals is in :mod:`app.network.pynetdicom_internals`.
"""

from __future__ import annotations

import ssl
from typing import Any, Callable

from app.network.limits import Limits
from app.network.pynetdicom_internals import acceptor, install
from app.network.pynetdicom_internals.requestor import TeleradAE

DEFAULT_MAX_PDU = 1024 * 1024  # what we advertise (and enforce) for P-DATA-TF PDUs we receive


def make_ae(ae_title: str, *, max_pdu: int = DEFAULT_MAX_PDU, timeout: float = 30.0) -> TeleradAE:
    """A requestor/acceptor AE with our timeouts (connection, ACSE, DIMSE, idle network)."""
    from app.dicom.part10 import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

    install()
    ae = TeleradAE(ae_title=ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.maximum_pdu_size = max_pdu
    ae.connection_timeout = min(timeout, 10.0)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    return ae


def start_server(ae: TeleradAE, host: str, port: int, *, limits: Limits,
                 ssl_context: ssl.SSLContext | None = None, handlers: list[Any] | None = None,
                 lean: Callable[[Any], None] | None = None) -> "acceptor.HardenedServer":
    """Start a non-blocking hardened server (``server.shutdown()`` stops it); ``lean(assoc)`` serves each
    established association's DIMSE itself (see ``acceptor.lean_service``)."""
    return acceptor.start(ae, (host, port), limits=limits, ssl_context=ssl_context, handlers=handlers or [],
                          lean=lean)
