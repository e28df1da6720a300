"""Transfer use cases of the CLI: retrieve a study into the cache (completeness flagged), send to a node.

The window retrieves through the running :class:`~app.network.session.NetworkSession` (its Storage SCP is
already listening); these serve a process that has none running."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from app.tasks import Cancelled, ProgressFn

if TYPE_CHECKING:
    from app.network.retrieve import RetrieveResult
    from app.network.send import SendResult
    from app.workstation.workstation import Workstation


def retrieve(ws: "Workstation", node_name: str, study_uid: str, *, series_uid: Optional[str] = None,
             method: Optional[str] = None, refetch_all: bool = False, progress: Optional[ProgressFn] = None,
             cancel: Optional[threading.Event] = None) -> "RetrieveResult":
    """Fetch what the cache lacks (everything with ``refetch_all``) by C-GET, C-MOVE (a Storage SCP runs for
    the duration) or WADO-RS; the study is flagged incomplete when it ends short or is cancelled."""
    from app.network.sink import mark_completeness

    node = ws.nodes().get(node_name)
    try:
        result = _fetch(ws, node, study_uid, series_uid, method or node.retrieve, refetch_all, progress, cancel)
    except Cancelled as exc:
        partial = getattr(exc, "result", None)
        if partial is not None:
            mark_completeness(ws.cache, study_uid, True, partial.expected, f"retrieve from {node.name} cancelled")
        raise
    mark_completeness(ws.cache, study_uid, result.incomplete, result.expected, f"retrieve from {node.name} ended short")
    return result


def _fetch(ws: "Workstation", node, study_uid, series_uid, method, refetch_all, progress, cancel):  # type: ignore[no-untyped-def]
    from app.network.retrieve import retrieve_study
    from app.network.sink import cache_sink, local_instance_uids

    on_stored = cache_sink(ws.cache)
    have = set() if refetch_all else local_instance_uids(ws.cache, study_uid)
    if method == "dicomweb":
        from app.network.dicomweb import DicomWebClient

        with DicomWebClient.for_node(node) as client:
            return client.retrieve_study(study_uid, on_stored, series_uid=series_uid, have=have, node_name=node.name,
                                         audit=ws.audit, user=ws.user, cancel=cancel, progress=progress)
    cfg = ws.nodes()
    scp = None
    if method == "move":
        from app.network.scp import StorageSCP

        scp = StorageSCP(cfg, on_stored, audit=ws.audit).start()
    try:
        return retrieve_study(node, cfg.local.ae_title, study_uid, on_stored=on_stored, scp=scp, series_uid=series_uid,
                              have=have, method=method, audit=ws.audit, user=ws.user, cancel=cancel, progress=progress)
    finally:
        if scp is not None:
            scp.stop()


def send(ws: "Workstation", node_name: str, items: Sequence[str], *, progress: Optional[ProgressFn] = None,
         cancel: Optional[threading.Event] = None) -> "SendResult":
    """C-STORE files, folders, or the cached instances of study / series / SOP Instance UIDs (LookupError if an
    item is none of these)."""
    from app.network.send import send_files

    cfg = ws.nodes()
    node = cfg.get(node_name)
    files = [p for item in items for p in _expand(ws, item)]
    return send_files(node, cfg.local.ae_title, files, audit=ws.audit, user=ws.user, cancel=cancel, progress=progress)


def _expand(ws: "Workstation", item: str) -> list[Path]:
    path, cache = Path(item), ws.cache
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    series = cache.list_series(item)
    if series:
        return [i.path for s in series for i in cache.list_instances(s.series_instance_uid)]
    instances = cache.list_instances(item)
    if instances:
        return [i.path for i in instances]
    one = cache.get_instance(item)
    if one is not None:
        return [one.path]
    raise LookupError(f"{item!r} is neither a file, a folder nor a UID in the cache")
