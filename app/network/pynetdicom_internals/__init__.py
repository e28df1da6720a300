"""Everything in app.network that depends on pynetdicom internals (not its documented API).

pynetdicom is pinned (``>=3.0.4,<3.1``); the internals relied on are listed, each with its reason,
in :data:`relied_on.RELIED_ON`, which ``tests/core/test_net_internals.py`` checks against the
installed pynetdicom (an upgrade fails there, naming the missing internal). Why we need them:

* ``sockets.DicomSocket`` replaces ``AssociationSocket`` (its ``ready``/``recv``/``close``, the
  DUL's ``to_provider_queue`` and ``_run_loop_delay``): TCP_NODELAY, PDU length capped before
  the body is read, deadlines a dripping peer cannot extend, P-DATA coalescing, no 1 ms sleeps.
* ``sockets.SocketLease`` (the DUL's ``socket`` and ``_idle_timer``): app.network.lean runs a
  C-GET in the calling thread, ~2x pynetdicom's DIMSE path (bench/network.py).
* ``requestor.TeleradAE`` (``AE._create_socket``) and ``acceptor.HardenedHandler``
  (``RequestHandler._create_association``, ``Association(ae, mode)``, ``_server``): our socket
  on every association we make or accept; TLS handshakes off the accept loop.
* ``preassoc`` (``pdu.A_ASSOCIATE_RQ.decode``/``to_primitive``): the whole A-ASSOCIATE-RQ is read,
  decoded and access-checked before an Association exists, so refused peers hold no slot.
* ``acceptor.lean_service`` (``Association._run_reactor``, ``_kill``, the DIMSE provider's ``msg_queue``
  and ``message``, ``AssociationSocket.send``): our Storage SCP serves C-STOREs in the association's
  thread (app.network.lean_scp), ~2x pynetdicom's path on a C-MOVE.
* ``store_rsp.fast_store_rsp`` (wraps ``dimse.send_msg``, sends through ``dul.send_pdu``):
  hand-encoded C-STORE-RSPs on our Storage SCP (~15% on a C-MOVE).
* :func:`install` sets ``_config.LOG_HANDLER_LEVEL`` (no per-PDU debug formatting, ~10%) and
  ``_config.ENFORCE_UID_CONFORMANCE`` (UIDs are checked by app.network.received).

Importing this package does not import pynetdicom; its submodules do.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_installed = False


class PynetdicomMismatch(RuntimeError):
    """The installed pynetdicom lacks internals this package relies on."""


def install() -> None:
    """Check the relied-on internals, then apply the global settings (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        import pynetdicom
        from pynetdicom import _config

        from app.network.pynetdicom_internals.relied_on import missing

        problems = missing()
        if problems:
            raise PynetdicomMismatch(f"pynetdicom {pynetdicom.__version__} lacks what app.network relies on: "
                                     + "; ".join(problems))
        _config.LOG_HANDLER_LEVEL = "none"
        _config.ENFORCE_UID_CONFORMANCE = False
        _installed = True
