"""The pynetdicom internals this package relies on, one entry each, and a checker.

:func:`missing` resolves every entry in the installed pynetdicom and describes what is absent or
changed shape; :func:`app.network.pynetdicom_internals.install` and the core test
``tests/core/test_net_internals.py`` both iterate :data:`RELIED_ON`.
"""

from __future__ import annotations

import importlib
import inspect
import socket
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["value", "class", "callable", "property", "instance"]


@dataclass(frozen=True)
class Internal:
    """``where`` is ``"module:Qual.name"``; ``instance``: an attribute set in ``__init__``."""

    where: str
    kind: Kind
    why: str
    params: tuple[str, ...] = ()  # leading parameter names of a callable (``self`` excluded)


_SOCK, _DUL, _ASSOC = "pynetdicom.transport:AssociationSocket", "pynetdicom.dul:DULServiceProvider", \
    "pynetdicom.association:Association"

RELIED_ON: tuple[Internal, ...] = (
    Internal("pynetdicom._config:LOG_HANDLER_LEVEL", "value",
             'set to "none": the standard handlers format every PDU for the debug log (~10% of a transfer)'),
    Internal("pynetdicom._config:ENFORCE_UID_CONFORMANCE", "value",
             "set to False: received UIDs are checked by app.network.received, with precise statuses"),
    Internal("pynetdicom._globals:MODE_ACCEPTOR", "value", "the mode of the acceptor associations we build"),
    Internal("pynetdicom.ae:ApplicationEntity._servers", "instance",
             "servers we start are registered there: AssociationServer.shutdown removes them from it"),
    Internal("pynetdicom.ae:ApplicationEntity._create_socket", "callable",
             "overridden: requestor associations run on DicomSocket", ("assoc", "address", "tls_args")),
    Internal("pynetdicom.transport:RequestHandler._create_association", "callable",
             "overridden: acceptor associations run on DicomSocket with the server's limits"),
    Internal("pynetdicom.transport:RequestHandler.local", "property", "our address, for the acceptor"),
    Internal("pynetdicom.transport:RequestHandler.remote", "property", "the peer's address, for the acceptor"),
    Internal(f"{_ASSOC}.__init__", "callable", "acceptor associations are built by hand", ("ae", "mode")),
    Internal(f"{_ASSOC}._server", "instance", "set on acceptors: the server shuts the request socket down"),
    Internal(f"{_ASSOC}.set_socket", "callable", "gives an acceptor its DicomSocket", ("socket",)),
    Internal(f"{_ASSOC}.dimse", "instance", "the DIMSE provider whose send_msg the fast C-STORE-RSP wraps"),
    Internal("pynetdicom.dimse:DIMSEServiceProvider.send_msg", "callable",
             "wrapped per acceptor: plain C-STORE-RSPs hand-encoded (~0.4 ms each otherwise)",
             ("primitive", "context_id")),
    Internal(f"{_SOCK}.__init__", "callable", "DicomSocket subclasses AssociationSocket",
             ("assoc", "client_socket", "address")),
    Internal(f"{_SOCK}.ready", "property",
             "polled by the DUL reactor: ours blocks in select (wake-ups, deadlines, lending the socket)"),
    Internal(f"{_SOCK}.recv", "callable",
             "overridden: PDU length capped before the body is read, buffered reads, P-DATA coalescing",
             ("nr_bytes",)),
    Internal(f"{_SOCK}.close", "callable", "overridden: also closes the wake-up socket pair"),
    Internal(f"{_SOCK}.event_queue", "property", "Evt17 when select fails, as the stock ready does"),
    Internal(f"{_SOCK}._is_connected", "instance", "read by our ready, as the stock ready does"),
    Internal(f"{_DUL}._read_pdu_data", "callable",
             "reads each PDU as recv(6) then recv(length): DicomSocket.recv serves both from one buffer"),
    Internal(f"{_DUL}.to_provider_queue", "instance", "replaced by a queue whose put wakes the reactor's select"),
    Internal(f"{_DUL}._run_loop_delay", "instance", "set to 0: our ready blocks instead of a 1 ms sleep per loop"),
    Internal(f"{_DUL}.socket", "instance", "the DicomSocket a lean C-GET borrows"),
    Internal(f"{_DUL}._idle_timer", "instance", "restarted while a lean C-GET owns the socket (no idle abort)"),
    Internal("pynetdicom.timer:Timer.restart", "callable", "see _idle_timer"),
    Internal("pynetdicom.pdu:A_ASSOCIATE_RQ.decode", "callable",
             "preassoc checks an A-ASSOCIATE-RQ decodes before any Association exists", ("bytestream",)),
    Internal("pynetdicom.pdu:A_ASSOCIATE_RQ.to_primitive", "callable", "see A_ASSOCIATE_RQ.decode"),
    Internal(f"{_DUL}.send_pdu", "callable", "the fast C-STORE-RSP sends its P-DATA-TF through it", ("primitive",)),
    Internal(f"{_SOCK}.send", "callable", "overridden: the A-ASSOCIATE-AC parks the reads of a lean acceptor",
             ("bytestream",)),
    Internal(f"{_ASSOC}._run_reactor", "callable",
             "wrapped per acceptor: the lean C-STORE SCP serves the association first (acceptor.lean_service)"),
    Internal(f"{_ASSOC}._kill", "instance", "read by the lean C-STORE SCP: the association was ended elsewhere"),
    Internal(f"{_ASSOC}.is_aborted", "instance", "see _kill"),
    Internal("pynetdicom.dimse:DIMSEServiceProvider.msg_queue", "instance",
             "empty, with no message half decoded, before the lean C-STORE SCP takes the socket"),
    Internal("pynetdicom.dimse:DIMSEServiceProvider.message", "instance", "see msg_queue"),
)


def _resolve(where: str) -> tuple[Any, str]:
    """(the object holding the last name, the last name) of ``module:Qual.name``."""
    module_name, _, qual = where.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = qual.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name


def _samples() -> dict[type, Any]:
    """One instance of each class whose ``__init__``-set attributes we rely on."""
    from pynetdicom import AE
    from pynetdicom.association import Association
    from pynetdicom.transport import AssociationSocket

    ae = AE()
    assoc = Association(ae, "requestor")
    raw = socket.socket()
    try:
        sock = AssociationSocket(assoc, client_socket=raw)
    finally:
        raw.close()
    return {type(ae): ae, Association: assoc, type(assoc.dul): assoc.dul, type(assoc.dimse): assoc.dimse,
            AssociationSocket: sock}


def _problem(item: Internal, samples: dict[type, Any]) -> str | None:
    """What is wrong with one entry, or None."""
    try:
        owner, name = _resolve(item.where)
    except (ImportError, AttributeError) as exc:
        return f"{item.where}: cannot be found ({exc})"
    if item.kind == "instance":
        sample = samples.get(owner)
        return None if sample is not None and hasattr(sample, name) else f"{item.where}: no such instance attribute"
    static = inspect.getattr_static(owner, name, None) if isinstance(owner, type) else getattr(owner, name, None)
    if static is None and not hasattr(owner, name):
        return f"{item.where}: missing"
    if item.kind == "property":
        return None if isinstance(static, property) else f"{item.where}: no longer a property"
    obj = getattr(owner, name)
    if item.kind == "class" and not isinstance(obj, type):
        return f"{item.where}: no longer a class"
    if item.kind == "callable":
        if not callable(obj):
            return f"{item.where}: no longer callable"
        names = [p for p in inspect.signature(obj).parameters if p != "self"]
        if tuple(names[: len(item.params)]) != item.params:
            return f"{item.where}: parameters {names}, expected to start with {list(item.params)}"
    return None


def missing(items: tuple[Internal, ...] | None = None) -> list[str]:
    """One message per relied-on internal (default :data:`RELIED_ON`) that pynetdicom lacks or has changed."""
    samples = _samples()
    return [msg for msg in (_problem(item, samples) for item in (RELIED_ON if items is None else items)) if msg]
