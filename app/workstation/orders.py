"""Order use cases: the HL7 listener feeding the order store, merges re-keying the cache, orders by study."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:
    from app.orders import Merge, Order, OrderContext, OrderStore
    from app.worklist import OrderMark
    from app.orders.listener import Hl7Listener
    from app.orders.receive import Receiver
    from app.orders.settings import OrdersSettings
    from app.workstation.workstation import Workstation

HL7_SERVICE = "hl7"


def open_store(ws: "Workstation") -> "OrderStore":
    from app.orders import OrderStore, orders_db_path

    return OrderStore(orders_db_path(ws.paths.home))


def receiver(ws: "Workstation") -> "Receiver":
    """Applies one message to the order store, re-keying the cache on merges, audited."""
    from app.orders.receive import Receiver

    return Receiver(ws.order_store, audit=ws.audit, user=ws.user, on_merge=lambda merge: rekey_cache(ws, merge))


def rekey_cache(ws: "Workstation", merge: "Merge") -> int:
    """Move the prior patient's cached studies to the survivor; the number moved."""
    from app.store.rekey import rekey_patient

    return rekey_patient(ws.cache, merge.prior.patient_id, merge.prior.issuer, merge.survivor.patient_id,
                         merge.survivor.issuer, merge.name)


def start_listener(ws: "Workstation", port: Optional[int] = None, host: Optional[str] = None) -> "Hl7Listener":
    """Start (or return the running) HL7 listener on ``port`` (default: orders.json) and the workstation's
    address; WorkstationError when no port is set, OSError when it cannot bind."""
    from app.orders.listener import Hl7Listener, ListenerLimits
    from app.workstation.workstation import WorkstationError

    def make() -> "Hl7Listener":
        cfg = ws.settings()
        orders = cfg.orders
        chosen = orders.port if port is None else port
        if chosen is None:
            raise WorkstationError("no HL7 port: set hl7.port in orders.json or pass --hl7-port")
        listener = Hl7Listener(receiver(ws), host or orders.host or cfg.nodes.local.host, chosen,
                               tls=_tls(orders), limits=ListenerLimits(orders.max_bytes, orders.read_timeout_s))
        listener.start()
        return listener

    return ws._service(HL7_SERVICE, make)


def _tls(orders: "OrdersSettings"):  # type: ignore[no-untyped-def]
    if not orders.tls.enabled:
        return None
    from app.network.tls import server_context

    return server_context(orders.tls)


def stop_listener(ws: "Workstation") -> None:
    """Stop the HL7 listener if it runs (the message being applied finishes first)."""
    with ws._lock:
        listener = ws._services.pop(HL7_SERVICE, None)
    if listener is not None:
        listener.stop()


def orders_for_studies(ws: "Workstation", study_uids: Optional[Iterable[str]] = None) -> "dict[str, Order]":
    """study_uid -> its active order, for the given cached studies (all when None)."""
    from app.orders.match import match_orders

    if study_uids is None:
        studies = ws.cache.list_studies()
    else:
        studies = [s for s in (ws.cache.get_study(uid) for uid in dict.fromkeys(study_uids)) if s is not None]
    store = ws.order_store
    return match_orders(store.orders(), studies, store.survivor)


def order_context(ws: "Workstation", study_uids: Iterable[str]) -> "dict[str, OrderContext]":
    """study_uid -> reason for exam, history, ordering physician, callback, priority (studies with an order)."""
    from app.orders import order_context as context

    return {uid: context(order) for uid, order in orders_for_studies(ws, study_uids).items()}


def order_list(ws: "Workstation", *, awaiting_only: bool = False) -> "list[tuple[Order, Optional[str]]]":
    """Every active order with the cached study it matches (None: awaiting images)."""
    if not has_orders(ws):
        return []
    matched = orders_for_studies(ws)
    study_of = {order.accession: uid for uid, order in matched.items()}
    rows = [(o, study_of.get(o.accession)) for o in ws.order_store.orders()]
    return [r for r in rows if r[1] is None] if awaiting_only else rows


def order_marks(ws: "Workstation", studies: Iterable[object]) -> "dict[str, OrderMark]":
    """The worklist's view of the order store for the studies it lists (remote ones included): priority,
    reason for exam, history, ordering physician, callback. No order store yet: nothing (none is created)."""
    from app.orders.match import match_orders
    from app.worklist import OrderMark

    if not has_orders(ws):
        return {}
    store = ws.order_store
    matched = match_orders(store.orders(), studies, store.survivor)  # type: ignore[arg-type]
    return {uid: OrderMark(o.priority.value, o.reason, o.history, o.ordering_physician, o.callback,
                           o.procedure_text or o.procedure_code) for uid, o in matched.items()}


def has_orders(ws: "Workstation") -> bool:
    """The order store is open or exists (a listing never creates it)."""
    from app.orders import orders_db_path

    return "orders" in ws._services or orders_db_path(ws.paths.home).exists()


def order_mark(ws: "Workstation", study_uid: str) -> "Optional[OrderMark]":
    """The cached study's order as the worklist shows it (None: no order, or the study is not cached)."""
    summary = ws.cache.get_study(study_uid)
    return None if summary is None else order_marks(ws, [summary]).get(study_uid)


def orders_revision(ws: "Workstation") -> tuple[int, int, str]:
    """(orders, merges, last update): changes when a message changed an order or merged patients (the window
    polls it to refresh the worklist)."""
    if not has_orders(ws):
        return (0, 0, "")
    store = ws.order_store
    with store._lock:
        row = store.db.execute("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM merges), "
                               "(SELECT coalesce(max(updated), '') FROM orders)").fetchone()
    return (int(row[0]), int(row[1]), str(row[2]))
