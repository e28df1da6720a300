"""The Storage SCP (C-STORE and C-ECHO) started by the app and by ``telerad listen``.

It does not know the cache: every checked instance goes to ``on_stored(part10_bytes, meta)``,
and success is answered only once that callback returns a durable outcome; the instances of a C-MOVE
we run go to its writer instead, which answers once they are durable in its spool (app.network.writer). Protection against
hostile peers (PDU cap, deadlines, access check) lives in :mod:`app.network.pynetdicom_internals.sockets`.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from app.network import netaudit
from app.network.expect import Expectations
from app.network.nodes import NodeConfig
from app.network.received import ReceivedMeta, StoreCallback, StoreOutcome

if TYPE_CHECKING:
    from app.audit import AuditLog

LOG = logging.getLogger(__name__)

REJECT_CALLING_AE = 3  # PS3.8 table 9-21: calling AE title not recognized
REJECT_CALLED_AE = 7  # called AE title not recognized


class StorageSCP:
    """A hardened Storage SCP; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, config: NodeConfig, on_stored: StoreCallback, *,
                 expectations: Expectations | None = None, audit: "AuditLog | None" = None,
                 tls: ssl.SSLContext | None = None, port: int | None = None,
                 max_pdu: int | None = None, request_deadline: float = 5.0,
                 association_deadline: float | None = None) -> None:
        self.config = config
        self.ae_title = config.local.ae_title
        self.on_stored = on_stored
        self.expectations = expectations or Expectations()
        self.audit = audit
        self.tls = tls
        self._port = config.local.port if port is None else port
        self._max_pdu = max_pdu
        self._request_deadline = request_deadline
        self._association_deadline = association_deadline or config.local.association_deadline
        self._server: Any = None
        self._lock = threading.Lock()
        self._per_assoc: dict[int, dict[tuple[str | None, str], Counter]] = defaultdict(dict)
        self._patients: dict[str, str | None] = {}
        self._ordered: dict[str, list[Any]] = {}  # supported contexts per wire (see _contexts_for)

    # -- life cycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port actually listened on (useful with ``port=0``)."""
        return int(self._server.server_address[1]) if self._server is not None else self._port

    def start(self) -> "StorageSCP":
        from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification

        from app.network.ae import DEFAULT_MAX_PDU, make_ae, start_server
        from app.network.limits import Limits

        ae = make_ae(self.ae_title, max_pdu=self._max_pdu or DEFAULT_MAX_PDU)
        ae.maximum_associations = self.config.local.max_associations
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        limits = Limits(request_deadline=self._request_deadline,
                        association_deadline=self._association_deadline,
                        access=self._access, on_refused=self._refused,
                        associations_per_address=max(1, self.config.local.max_associations // 2))
        handlers = [(evt.EVT_C_STORE, self._on_c_store), (evt.EVT_CONN_CLOSE, self._on_close),
                    (evt.EVT_REQUESTED, self._on_requested)]
        self._server = start_server(ae, self.config.local.host, self._port, limits=limits,
                                    ssl_context=self.tls, handlers=handlers, lean=self._serve_lean)
        LOG.info("storage SCP %s listening on %s:%d%s", self.ae_title, self.config.local.host,
                 self.port, " (TLS)" if self.tls else "")
        netaudit.network_entry(self.audit, what="listen", detail={"port": self.port, "tls": bool(self.tls)})
        return self

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.shutdown()
            for assoc in server.active_associations:  # e.g. a PACS keeping its association open
                assoc.abort()

    def __enter__(self) -> "StorageSCP":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- policy ----------------------------------------------------------------------------
    def _access(self, calling: str, called: str, host: str) -> int | None:
        if called != self.ae_title:
            return REJECT_CALLED_AE
        if self.config.node_for(calling, host) is None:
            return REJECT_CALLING_AE
        return None

    def _refused(self, peer: str, reason: str) -> None:
        netaudit.security_alert(self.audit, peer=peer, reason=reason)

    def _classify(self, calling: str, host: str, study_uid: str) -> tuple[bool, str | None]:
        node = self.config.node_for(calling, host)
        solicited = self.expectations.match(study_uid, calling) is not None
        return solicited, node.name if node else None

    # -- events ----------------------------------------------------------------------------
    def _on_requested(self, event: Any) -> None:
        """Before negotiation: the calling node's ``wire`` orders the transfer syntaxes we accept (a C-MOVE
        sender proposing JPEG-LS and uncompressed then sends JPEG-LS)."""
        requestor = event.assoc.requestor  # its ae_title is filled in only by the negotiation: the request's
        calling = str(getattr(requestor.primitive, "calling_ae_title", "") or "").strip()
        node = self.config.node_for(calling, requestor.address)
        wire = node.wire if node is not None else "lossless"
        event.assoc.acceptor.supported_contexts = self._contexts_for(wire, event.assoc.acceptor.supported_contexts)

    def _contexts_for(self, wire: str, supported: list[Any]) -> list[Any]:
        """The supported contexts ordered for ``wire``, built once per wire (~40 ms for 171 contexts; the
        negotiation only reads them, so associations share one list)."""
        from copy import deepcopy

        from app.network.syntaxes import acceptor_order

        with self._lock:
            contexts = self._ordered.get(wire)
            if contexts is None:
                contexts = deepcopy(supported)
                for cx in contexts:
                    cx.transfer_syntax = acceptor_order(list(cx.transfer_syntax), wire)
                self._ordered[wire] = contexts
        return contexts

    def _stored_for(self, assoc: Any) -> StoreCallback:
        """``on_stored`` plus the bookkeeping of one association (expectations, audit counts)."""
        def stored(data: bytes, meta: ReceivedMeta) -> StoreOutcome:
            exp = self.expectations.match(meta.study_instance_uid, meta.calling_aet) if meta.solicited else None
            if exp is not None and exp.writer is not None:
                outcome = exp.writer.submit(data, meta)  # durable in the spool; the writer counts it
            else:
                outcome = self.on_stored(data, meta)
                self.expectations.note(meta.study_instance_uid, meta.calling_aet, meta.sop_instance_uid,
                                       outcome.status)
            with self._lock:
                per = self._per_assoc[id(assoc)]
                per.setdefault((meta.node, meta.study_instance_uid), Counter())[outcome.status] += 1
                if outcome.patient_id is not None:
                    self._patients.setdefault(meta.study_instance_uid, outcome.patient_id)
            return outcome

        return stored

    def _serve_lean(self, assoc: Any) -> None:
        """An established association's C-STOREs and C-ECHOs, served by :mod:`app.network.lean_scp`."""
        from app.network.lean_scp import LeanStoreSCP
        from app.network.received import check_store

        calling, peer = str(assoc.requestor.ae_title).strip(), str(assoc.requestor.address)
        stored = self._stored_for(assoc)

        def store(data: bytearray, sop_class: str, sop_instance: str, ts: str) -> tuple[int, str | None]:
            return check_store(data, sop_class, sop_instance, ts, calling, peer, stored, self._classify)

        LeanStoreSCP(assoc, store).serve()

    def _on_c_store(self, event: Any) -> Any:
        """pynetdicom's path (used when a peer sent before our A-ASSOCIATE-AC, see lean_service)."""
        from app.network.received import handle_store

        return handle_store(event, self._stored_for(event.assoc), self._classify)

    def _on_close(self, event: Any) -> None:
        with self._lock:
            per = self._per_assoc.pop(id(event.assoc), {})
            patients = {study: self._patients.pop(study, None) for _, study in per}
        for (node, study), counts in per.items():
            ok = counts["imported"] + counts["duplicate"] + counts["quarantined"] + counts["queued"]
            netaudit.transfer(self.audit, direction="received", node=node, study_uid=study, count=ok,
                              failed=counts["rejected"], patient_id=patients.get(study),
                              extra={"quarantined": counts["quarantined"], "duplicates": counts["duplicate"]})
