"""One C-GET or C-MOVE operation with progress per sub-operation and C-CANCEL on user cancel.

C-GET runs in this thread (:mod:`app.network.lean`, ~2x pynetdicom's own C-GET: bench/network.py);
C-MOVE requested through pynetdicom, the instances arriving on our Storage SCP (served by
:mod:`app.network.lean_scp`, answered once durable in the spool of :mod:`app.network.spool`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from app.network.nodes import Node
from app.network.received import ReceivedMeta, StoreCallback, StoreOutcome
from app.network.scu import CancelWatch, NetworkError, associate
from app.network.syntaxes import LOSSY, compressed, uncompressed
from app.tasks import ProgressFn, report

LOG = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.network.scp import StorageSCP

STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
MAX_CONTEXTS = 128


@dataclass
class OpResult:
    """What one C-GET/C-MOVE did: peer's sub-operation counts and our store outcomes."""

    status: int | None = None
    completed: int = 0
    failed: int = 0
    warning: int = 0
    outcomes: Counter = field(default_factory=Counter)
    received: set[str] = field(default_factory=set)
    cancelled: bool = False


def identifier(study_uid: str, series_uid: str | None = None, sop_uids: Sequence[str] = ()) -> Any:
    """Study, series or image level retrieve identifier (Study Root)."""
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.StudyInstanceUID = study_uid
    ds.QueryRetrieveLevel = "STUDY"
    if series_uid:
        ds.QueryRetrieveLevel, ds.SeriesInstanceUID = "SERIES", series_uid
    if sop_uids:
        if not series_uid:
            raise ValueError("an image-level retrieve needs the series UID")
        ds.QueryRetrieveLevel, ds.SOPInstanceUID = "IMAGE", list(sop_uids)
    return ds


def get_contexts(sop_classes: Iterable[str], wire: str = "stored") -> list[tuple[str, list[str]]]:
    """Storage contexts (SCP role) for every SOP class: uncompressed first, then compressed ones.

    ``wire`` "lossless"/"lossy" (a node that transcodes): image classes get no uncompressed context, so
    the peer compresses what it holds uncompressed (lossless syntaxes only, unless "lossy")."""
    classes = sorted(set(sop_classes))
    room = MAX_CONTEXTS - 1
    squeeze = {c for c in classes if wire != "stored" and _is_image_class(c)}
    contexts = [(c, uncompressed()) for c in classes if c not in squeeze][:room]
    for ts in compressed():  # separate contexts so the peer can send each of these as stored
        if ts in LOSSY and wire == "lossless":
            squeezed = [c for c in classes if c not in squeeze]
        else:
            squeezed = classes
        for c in squeezed:
            if len(contexts) < room:
                contexts.append((c, [ts]))
    return contexts


def _is_image_class(sop_class: str) -> bool:
    from pydicom.uid import UID

    return "Image Storage" in UID(sop_class).name


def _track(progress: ProgressFn | None, result: OpResult, status: Any) -> None:
    result.completed = int(status.get("NumberOfCompletedSuboperations", result.completed) or 0)
    result.failed = int(status.get("NumberOfFailedSuboperations", result.failed) or 0)
    result.warning = int(status.get("NumberOfWarningSuboperations", result.warning) or 0)
    remaining = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
    done = result.completed + result.failed + result.warning
    report(progress, done, done + remaining, "instances")


def _run_move(assoc: Any, responses: Iterable[Any], result: OpResult, cancel: threading.Event | None,
              progress: ProgressFn | None, what: str) -> None:
    with CancelWatch(assoc, cancel, 1, STUDY_ROOT_MOVE) as watch:
        for status, _ in responses:
            if status is None or "Status" not in status:
                raise NetworkError(f"{what}: no response (timeout or abort)")
            result.status = int(status.Status)
            _track(progress, result, status)
            if result.status not in (0xFF00, 0xFF01):
                break
        result.cancelled = watch.sent or result.status == 0xFE00


def c_get(node: Node, calling_aet: str, on_stored: StoreCallback, sop_classes: Iterable[str],
          ds: Any, *, cancel: threading.Event | None = None, progress: ProgressFn | None = None,
          timeout: float = 60.0, defer: bool = True, wire: str = "stored") -> OpResult:
    """C-GET ``ds``; instances arrive on the same association and go to ``on_stored``.

    With ``defer`` (our own retrieve, so a failure is still ours to report) each checked instance
    is answered once queued for :class:`~app.network.writer.BackgroundStore`; this returns only
    after every queued instance is durable or counted in ``failed`` (see that module).
    """
    from pynetdicom import build_role

    from app.network.writer import BackgroundStore, tally

    result = OpResult()
    lock = threading.Lock()

    def record(meta: ReceivedMeta, outcome: StoreOutcome) -> None:
        with lock:
            tally(result.outcomes, result.received, meta, outcome)

    writer = BackgroundStore(on_stored, record, name=f"telerad-writer-{node.name}") if defer else None

    def stored(data: bytes, meta: ReceivedMeta) -> StoreOutcome:
        if writer is not None:
            return writer.submit(data, meta)
        outcome = on_stored(data, meta)
        record(meta, outcome)
        return outcome

    contexts = get_contexts(sop_classes, wire)
    roles = [build_role(c, scp_role=True) for c in sorted({c for c, _ in contexts})]
    try:
        with associate(node, calling_aet, [(STUDY_ROOT_GET, uncompressed()), *contexts], roles=roles,
                       timeout=timeout) as assoc:
            _run_lean(assoc, ds, result, stored, node.name, timeout, cancel, progress)
    finally:
        if writer is not None:
            writer.close()  # everything received is written (or failed) before we report
    if writer is not None:
        result.failed += writer.failed  # the peer counted these as completed
    return result


def _run_lean(assoc: Any, ds: Any, result: OpResult, stored: StoreCallback, node_name: str, timeout: float,
              cancel: threading.Event | None, progress: ProgressFn | None) -> None:
    from pynetdicom.dsutils import encode

    from app.network.lean import LeanGet
    from app.network.received import check_store

    calling, peer = str(assoc.acceptor.ae_title).strip(), str(assoc.acceptor.address)

    def store(data: bytearray, sop_class: str, sop_instance: str, ts: str) -> tuple[int, str | None]:
        return check_store(data, sop_class, sop_instance, ts, calling, peer, stored,
                           lambda aet, host, study: (True, node_name))

    def on_status(status: dict[str, int]) -> None:
        result.status = status["Status"]
        _track(progress, result, status)

    get_cx = next((c for c in assoc.accepted_contexts if c.abstract_syntax == STUDY_ROOT_GET), None)
    if get_cx is None:
        raise NetworkError(f"C-GET from {node_name}: the peer did not accept Study Root C-GET")
    ts = get_cx.transfer_syntax[0]
    lean = LeanGet(assoc, store, on_status, timeout=timeout, cancel=cancel)
    result.status = lean.run(STUDY_ROOT_GET, encode(ds, ts.is_implicit_VR, ts.is_little_endian))
    result.cancelled = lean.cancel_sent or result.status == 0xFE00


def c_move(node: Node, calling_aet: str, scp: "StorageSCP", ds: Any, *,
           cancel: threading.Event | None = None, progress: ProgressFn | None = None,
           timeout: float = 60.0) -> OpResult:
    """C-MOVE ``ds`` to our running Storage SCP; stores are solicited while this runs.

    When the SCP's store callback offers a ``spool`` (``cache_sink``), each instance is answered once
    durable in the spool and stored by a :class:`~app.network.writer.BackgroundStore` in group commits;
    this returns after every one is stored or counted in ``failed``.
    """
    from app.network.writer import BackgroundStore, tally

    result = OpResult()
    spool = _spool_for(scp)
    exp_box: list[Any] = []

    def record(meta: ReceivedMeta, outcome: StoreOutcome) -> None:
        tally(exp_box[0].outcomes, exp_box[0].sop_uids, meta, outcome)  # the writer thread only

    writer = BackgroundStore(scp.on_stored, record, spool=spool, name=f"telerad-move-{node.name}") \
        if spool is not None else None
    try:
        with scp.expectations.expect(str(ds.StudyInstanceUID), node.ae_title, writer) as exp:
            exp_box.append(exp)
            try:
                with associate(node, calling_aet, [(STUDY_ROOT_MOVE, uncompressed())], timeout=timeout) as assoc:
                    responses = assoc.send_c_move(ds, scp.ae_title, STUDY_ROOT_MOVE, msg_id=1)
                    _run_move(assoc, responses, result, cancel, progress, f"C-MOVE from {node.name}")
            finally:
                if writer is not None:
                    writer.close()  # everything acknowledged is stored (or failed) before we report
            result.outcomes.update(exp.outcomes)
            result.received |= {uid for uid in exp.sop_uids}
    finally:
        if spool is not None:
            spool.close()
    if writer is not None:
        result.failed += writer.failed  # the peer counted these as completed
    return result


def _spool_for(scp: "StorageSCP") -> Any:
    """The SCP's store callback's spool for one C-MOVE, or None (no spool: each store answered when stored)."""
    make_spool = getattr(scp.on_stored, "spool", None)
    if make_spool is None:
        return None
    try:
        return make_spool()
    except OSError as exc:
        LOG.warning("no C-MOVE spool (%s): storing each instance before answering", exc)
        return None
