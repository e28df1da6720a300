"""Transfer use cases of the CLI: retrieve a study into the cache (completeness flagged), send to a node.

The window retrieves through the running :class:`~app.network.session.NetworkSession` (its Storage SCP is
already listening); these serve a process that has none running."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from app.tasks import ProgressFn

if TYPE_CHECKING:
    from app.network.retrieve import RetrieveResult
    from app.network.send import SendResult
    from app.workstation.workstation import Workstation


def retrieve(ws: "Workstation", node_name: str, study_uid: str, *, series_uid: Optional[str] = None,
             method: Optional[str] = None, refetch_all: bool = False, progress: Optional[ProgressFn] = None,
             cancel: Optional[threading.Event] = None) -> "RetrieveResult":
    """Fetch what the cache lacks (everything with ``refetch_all``) the way the window does
    (:func:`app.network.fetch.retrieve_into_cache`: WADO-RS when the node has a DICOMweb URL, else its
    C-GET/C-MOVE; ``method`` overrides); a Storage SCP runs for the duration when C-MOVE may be used.
    The study is flagged incomplete until nothing is missing."""
    from app.network.fetch import retrieve_into_cache
    from app.network.sink import cache_sink

    cfg = ws.nodes()
    node = cfg.get(node_name)
    scp = None
    if (method or node.retrieve) == "move":
        from app.network.scp import StorageSCP

        scp = StorageSCP(cfg, cache_sink(ws.cache), audit=ws.audit).start()
    try:
        return retrieve_into_cache(ws.cache, node, cfg.local.ae_title, study_uid, method=method, scp=scp,
                                   series_uid=series_uid, refetch_all=refetch_all, audit=ws.audit, user=ws.user,
                                   cancel=cancel, progress=progress)
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
