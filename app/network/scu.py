"""Associations to a configured node (TLS, TCP_NODELAY), C-ECHO, and C-CANCEL on user cancel."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from app.network.nodes import Node
from app.tasks import Cancelled, check_cancel


class NetworkError(RuntimeError):
    """The peer could not be reached, rejected us, or aborted."""


@contextmanager
def associate(node: Node, calling_aet: str, contexts: Sequence[tuple[str, Sequence[str]]],
              *, roles: Sequence[Any] = (), handlers: Sequence[Any] = (),
              timeout: float = 30.0, max_pdu: int | None = None) -> Iterator[Any]:
    """An established association to ``node`` proposing ``contexts`` ([(abstract syntax, [TS...])]).

    Released on normal exit, aborted if the block raises.
    """
    from app.network.ae import DEFAULT_MAX_PDU, make_ae

    ae = make_ae(calling_aet, max_pdu=max_pdu or DEFAULT_MAX_PDU, timeout=timeout)
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, list(syntaxes))
    tls_args = None
    if node.tls.enabled:
        from app.network.tls import client_context

        tls_args = (client_context(node.tls), node.host)
    where = f"{node.name} ({node.ae_title}@{node.host}:{node.port})"
    try:
        assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, ext_neg=list(roles) or None,
                             evt_handlers=list(handlers) or None, tls_args=tls_args)
    except OSError as exc:  # e.g. the host name does not resolve
        raise NetworkError(f"association with {where} {_unreachable(node.host, node.port, timeout) or exc}") from None
    if not assoc.is_established:
        why = "rejected" if assoc.is_rejected else _unreachable(node.host, node.port, timeout) or "aborted"
        raise NetworkError(f"association with {where} {why}")
    try:
        yield assoc
    except BaseException:
        assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()


def _unreachable(host: str, port: int, timeout: float) -> str:
    """After a failed association: why the TCP connection fails ("" if it opens: the peer aborted)."""
    import socket

    try:
        socket.create_connection((host, port), timeout=min(timeout, 5.0)).close()
    except socket.gaierror:
        return f"failed: unknown host {host}"
    except OSError as exc:
        return f"failed: cannot connect ({exc.strerror or exc})"
    return ""


def echo(node: Node, calling_aet: str, *, timeout: float = 10.0) -> float:
    """C-ECHO; returns the round trip in seconds (raises :class:`NetworkError` on failure)."""
    from pydicom.uid import ImplicitVRLittleEndian
    from pynetdicom.sop_class import Verification

    from app.network.ae import DEFAULT_MAX_PDU

    start = time.monotonic()
    with associate(node, calling_aet, [(Verification, [ImplicitVRLittleEndian])], timeout=timeout,
                   max_pdu=DEFAULT_MAX_PDU) as assoc:
        status = assoc.send_c_echo()
        if not status or status.get("Status") != 0:
            raise NetworkError(f"C-ECHO to {node.name} failed: {status.get('Status') if status else 'no response'}")
    return time.monotonic() - start


class CancelWatch:
    """Sends C-CANCEL when ``cancel`` is set, then aborts if the peer does not stop in ``grace`` s."""

    def __init__(self, assoc: Any, cancel: threading.Event | None, msg_id: int, query_model: str,
                 grace: float = 10.0) -> None:
        self.assoc, self.cancel, self.msg_id, self.query_model, self.grace = assoc, cancel, msg_id, query_model, grace
        self.sent = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "CancelWatch":
        if self.cancel is not None:
            self._thread = threading.Thread(target=self._run, name="dicom-cancel", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        assert self.cancel is not None
        while not self._done.is_set():
            if self.cancel.wait(0.1):
                break
        if self._done.is_set():
            return
        try:
            self.assoc.send_c_cancel(self.msg_id, query_model=self.query_model)
            self.sent = True
        except Exception:
            pass
        if not self._done.wait(self.grace) and self.assoc.is_established:
            self.assoc.abort()

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(1.0)

    def raise_if_cancelled(self) -> None:
        if self.sent:
            raise Cancelled()
        check_cancel(self.cancel)
