"""Orders from the RIS: an HL7 v2 MLLP listener (ORM^O01, OMI^O23, ADT^A08/A40), its order store and ACKs.

Qt-free core: :mod:`parse` reads messages (python-hl7), :mod:`ack` answers them, :mod:`store` keeps the
orders in ``<data dir>/orders.sqlite``, :mod:`receive` applies one message, :mod:`listener` serves MLLP and
:mod:`match` joins orders to cached studies (by accession and patient, or Study Instance UID)."""

from app.orders.model import (
    Merge, MessageError, Order, OrderContext, PatientRef, PatientUpdate, Priority, order_context,
)
from app.orders.store import OrderStore, orders_db_path

__all__ = [
    "Merge", "MessageError", "Order", "OrderContext", "OrderStore", "PatientRef", "PatientUpdate", "Priority",
    "order_context", "orders_db_path",
]
