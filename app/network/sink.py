"""The store callback that puts received instances into the study cache (used by CLI and app).

Retrieved instances take the same path as imports (``Cache.store_bytes``: validation, atomic
write, duplicate rules). Unsolicited stores go to quarantine, never to the worklist, except AI results
(SR, SEG) a known node sends for a study already cached.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from app.network.received import ReceivedMeta, StoreOutcome

if TYPE_CHECKING:
    from app.network.spool import Spool
    from app.store import Cache

LOG = logging.getLogger(__name__)
# SR (basic text, enhanced, comprehensive, comprehensive 3D, extensible) and Segmentation storage
AI_RESULT_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.22",
                               "1.2.840.10008.5.1.4.1.1.88.33", "1.2.840.10008.5.1.4.1.1.88.34",
                               "1.2.840.10008.5.1.4.1.1.88.35", "1.2.840.10008.5.1.4.1.1.66.4"})


def _source(meta: ReceivedMeta) -> str:
    return f"dicom:{meta.calling_aet}@{meta.peer_host}"


class CacheSink:
    """``on_stored`` for :class:`~app.network.scp.StorageSCP` and C-GET, backed by ``cache``.

    :meth:`many` is the group-commit form (``Cache.store_many``) the background writer uses;
    :meth:`spool` gives a C-MOVE its durable landing folder (:mod:`app.network.spool`).
    """

    def __init__(self, cache: "Cache") -> None:
        self.cache = cache

    def __call__(self, data: bytes, meta: ReceivedMeta) -> StoreOutcome:
        if meta.solicited or self._annotates_cached_study(meta):
            result = self.cache.store_bytes(data, meta.node, source=_source(meta))
        else:
            quarantine = getattr(self.cache, "quarantine_bytes", None)
            if quarantine is None:  # the cache cannot keep it aside: refuse rather than list it
                return StoreOutcome("rejected", "unsolicited store refused (no retrieve asked for it)")
            reason = f"unsolicited C-STORE from {meta.calling_aet} (no retrieve asked for it)"
            result = quarantine(data, reason, meta.node, source=_source(meta))
        return StoreOutcome(result.status, result.reason, result.patient_id)

    def _annotates_cached_study(self, meta: ReceivedMeta) -> bool:
        """An AI result (SR, SEG) a known node pushes for a study already in the cache (IHE AI Results: the AI
        manager sends to the image display) is taken as asked for; it never brings a new study."""
        get_study = getattr(self.cache, "get_study", None)
        return (meta.node is not None and meta.sop_class_uid in AI_RESULT_CLASSES and get_study is not None
                and get_study(meta.study_instance_uid) is not None)

    def many(self, items: Sequence[Any]) -> list[StoreOutcome]:
        """Store solicited instances in one group commit (unsolicited ones one by one). Items are
        ``(data, meta)`` or ``(data, meta, spooled path)``: a spooled canonical file is renamed into place."""
        if any(not item[1].solicited for item in items):
            return [self(item[0], item[1]) for item in items]
        if all(len(item) < 3 or item[2] is None for item in items):
            results = self.cache.store_many([(data, meta.node, _source(meta)) for data, meta, *_ in items])
        else:
            results = self.cache.store_prepared([_entry(*item) for item in items])
        return [StoreOutcome(r.status, r.reason, r.patient_id) for r in results]

    def spool(self) -> "Spool":
        """A durable spool folder in the cache for one C-MOVE."""
        from app.network.spool import Spool

        return Spool(self.cache.root)


def _entry(data: bytes, meta: ReceivedMeta, spooled: Path | None = None) -> Any:
    """What ``Cache.store_prepared`` takes for one instance: the spooled file itself when it is canonical."""
    from app.store.models import StoreResult
    from app.store.prepare import Prepared, Rejected, prepare_parts

    try:
        parts = prepare_parts(data)
    except Rejected as exc:
        return StoreResult("rejected", exc.reason, skip=exc.skip)
    n = len(parts.prefix)
    canonical = n + len(parts.body) == len(data) and data[:n] == parts.prefix
    if spooled is not None and canonical:
        prepared = Prepared(parts.header, b"", parts.sha256, staged=str(spooled), staged_size=len(data))
    else:
        prepared = Prepared(parts.header, bytes(data) if canonical else b"".join((parts.prefix, parts.body)),
                            parts.sha256)
    return prepared, meta.node, _source(meta)


def cache_sink(cache: "Cache") -> CacheSink:
    """``on_stored`` backed by ``cache`` (see :class:`CacheSink`); first stores what a crashed C-MOVE
    left in the cache's spool (:func:`app.network.spool.recover`)."""
    from app.network.spool import recover

    recover(cache)
    return CacheSink(cache)


def local_instance_uids(cache: "Cache", study_uid: str) -> set[str]:
    """SOP Instance UIDs of a study already in the cache (present files only)."""
    uids: set[str] = set()
    for series in cache.list_series(study_uid):
        uids |= {i.sop_instance_uid for i in cache.list_instances(series.series_instance_uid) if i.state == "ok"}
    return uids


def mark_completeness(cache: "Cache", study_uid: str, incomplete: bool, expected: int | None, reason: str) -> bool:
    """Flag (or clear) a study as incomplete if the cache supports it; True if it did."""
    if incomplete:
        mark = getattr(cache, "mark_study_incomplete", None)
        if mark is None:
            LOG.warning("study %s is incomplete; the cache cannot flag it yet", study_uid)
            return False
        mark(study_uid, expected, reason)
        return True
    clear = getattr(cache, "clear_study_incomplete", None)
    if clear is not None:
        clear(study_uid)
        return True
    return False
