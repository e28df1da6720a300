"""Plain C-STORE responses of an association hand-encoded (:func:`app.network.dimse.store_rsp`).

Wraps the association's ``dimse.send_msg``: a C-STORE-RSP without error comment or offending
element goes out as one P-DATA-TF at once; anything else takes pynetdicom's own path.
"""

from __future__ import annotations

from typing import Any, Callable

from app.network.dimse import store_rsp


def _plain_store_rsp(primitive: Any) -> bool:
    from pynetdicom.dimse_primitives import C_STORE

    return bool(type(primitive) is C_STORE and primitive.MessageIDBeingRespondedTo is not None
                and primitive.ErrorComment is None and primitive.OffendingElement is None
                and primitive.AffectedSOPClassUID and primitive.AffectedSOPInstanceUID
                and primitive.Status is not None)


def fast_store_rsp(assoc: Any) -> None:
    """Route this association's plain C-STORE responses through :func:`store_rsp`."""
    from pynetdicom.pdu_primitives import P_DATA

    original: Callable[[Any, int], None] = assoc.dimse.send_msg

    def send_msg(primitive: Any, context_id: int) -> None:
        if not _plain_store_rsp(primitive):
            original(primitive, context_id)
            return
        cmd = store_rsp(str(primitive.AffectedSOPClassUID), str(primitive.AffectedSOPInstanceUID),
                        int(primitive.MessageIDBeingRespondedTo), int(primitive.Status))
        pdata = P_DATA()
        pdata.presentation_data_value_list = [[context_id, b"\x03" + cmd]]
        assoc.dul.send_pdu(pdata)

    assoc.dimse.send_msg = send_msg
