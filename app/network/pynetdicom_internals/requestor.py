"""An AE whose requestor associations run on :class:`~.sockets.DicomSocket`."""

from __future__ import annotations

from typing import Any

from pynetdicom import AE

from app.network.pynetdicom_internals.sockets import DicomSocket


class TeleradAE(AE):
    """``AE`` with ``_create_socket`` overridden (see :mod:`.relied_on`)."""

    def _create_socket(self, assoc: Any, address: Any, tls_args: Any) -> DicomSocket:
        sock = DicomSocket(assoc, address=address)
        sock.tls_args = tls_args
        return sock
