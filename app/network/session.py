"""The app's network session (Qt-free): configured nodes, our Storage SCP feeding the cache,
retrieve (only what is missing, completeness flagged), PACS queries and the remote worklist poll.

The GUI holds one :class:`NetworkSession` per window; its methods are blocking and follow the core
conventions (``progress``/``cancel``), so they run through the task bridge or the prefetch queue.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from app.network import netaudit
from app.network.nodes import Node, NodeConfig, NodeError, config_changes, load, save, validate_config
from app.network.query import Query
from app.network.session_state import NetworkState, Relay, to_summary
from app.tasks import Cancelled, ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.network.arrivals import Arrivals
    from app.network.retrieve import RetrieveResult
    from app.network.scp import StorageSCP
    from app.store import Cache

LOG = logging.getLogger(__name__)

class NetworkSession:
    """Nodes from ``config_dir/nodes.json``, the SCP, and the operations the GUI needs.

    ``listen``: None = listen when a node and a local port (> 0) are configured; ``recent_days``: how far back
    :meth:`remote_worklist` looks (0 = today only, None = no date filter).
    """

    def __init__(self, config_dir: Path, cache: "Cache", audit: "AuditLog | None" = None, user: str | None = None,
                 *, listen: bool | None = None, recent_days: int | None = 1, port: int | None = None) -> None:
        self.config_dir, self.cache, self.audit, self.user = Path(config_dir), cache, audit, user
        self.recent_days, self._listen, self._port = recent_days, listen, port
        self._lock = threading.Lock()
        self._listeners: list[Callable[[NetworkState], None]] = []
        self._active: set[threading.Event] = set()
        self._sources: dict[str, str] = {}  # study UID -> node it was found on
        self._scp: StorageSCP | None = None
        self._scp_lock = threading.RLock()  # start/stop/restart of the SCP
        self._scp_error = self._last_error = ""
        self._closed = self._restart = False
        try:
            self.config = load(self.config_dir)
        except NodeError as exc:
            self.config, self._scp_error = NodeConfig(), f"nodes.json unreadable: {exc}"

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> NetworkState:
        """Start the Storage SCP if it should listen; failures are reported in :meth:`state`."""
        with self._scp_lock:
            self._start_scp()
        self._changed()
        return self.state()

    def _wants_scp(self) -> bool:
        return bool(self.config.nodes) and self.config.local.port > 0 if self._listen is None else self._listen

    def _start_scp(self) -> None:
        if self._wants_scp() and self._scp is None and not self._closed:
            from app.network.scp import StorageSCP
            from app.network.sink import cache_sink

            try:
                tls = None
                if self.config.local.tls.enabled:
                    from app.network.tls import server_context

                    tls = server_context(self.config.local.tls)
                self._scp = StorageSCP(self.config, cache_sink(self.cache), audit=self.audit, tls=tls,
                                       port=self._port).start()
                self._scp_error = ""
            except (OSError, ValueError) as exc:
                port = self.config.local.port if self._port is None else self._port
                self._scp_error = f"cannot listen on port {port}: {exc}"
                LOG.warning("storage SCP not started: %s", exc)

    def apply_config(self, cfg: NodeConfig) -> NetworkState:
        """Validate ``cfg`` (:func:`validate_config`), save ``nodes.json`` atomically and use it (audited as a network
        configuration change). The SCP restarts only if our AE changed or listening must start/stop; running
        retrieves are not interrupted (a needed stop waits until they end: they may be C-MOVEs into it)."""
        cfg = validate_config(cfg)
        save(self.config_dir, cfg)
        with self._scp_lock:
            old, self.config = self.config, cfg
            self._restart = self._restart or old.local != cfg.local or not self._wants_scp()
            if self._scp is not None:
                self._scp.config = cfg  # its access check knows new nodes at once
        if cfg != old:
            netaudit.network_entry(self.audit, what="config", user=self.user, detail=config_changes(old, cfg))
        return self._sync_scp()

    def _sync_scp(self) -> NetworkState:
        """Stop, restart or start the SCP to match the config (not while a retrieve runs)."""
        with self._scp_lock:
            with self._lock:  # no retrieve may pick up the SCP being stopped
                scp = self._scp
                if scp is not None and (self._restart or not self._wants_scp()) and not self._active:
                    self._scp = None
                else:
                    scp = None
            if scp is not None:
                scp.stop()
            if self._scp is None:
                self._restart, self._scp_error = False, ""
                self._start_scp()
        self._changed()
        return self.state()

    def shutdown(self, wait: float = 5.0) -> None:
        """Cancel running retrieves, stop the SCP (waits up to ``wait`` s for retrieves to end). Idempotent."""
        with self._lock:
            self._closed = True
            for event in self._active:
                event.set()
        end = time.monotonic() + wait
        while self._active and time.monotonic() < end:
            time.sleep(0.02)
        with self._scp_lock:
            scp, self._scp = self._scp, None
            if scp is not None:
                scp.stop()
        self._changed()

    # -- state ---------------------------------------------------------------------------------
    @property
    def scp(self) -> "StorageSCP | None":
        return self._scp

    def nodes(self) -> list[Node]:
        return list(self.config.nodes.values())

    def state(self) -> NetworkState:
        scp = self._scp
        return NetworkState(listening=scp is not None, port=scp.port if scp is not None else None,
                            ae_title=self.config.local.ae_title, tls=bool(scp is not None and scp.tls),
                            nodes=tuple(self.config.nodes), scp_error=self._scp_error,
                            last_error=self._last_error, active=len(self._active),
                            restart_pending=self._restart and scp is not None)

    def subscribe(self, listener: Callable[[NetworkState], None]) -> None:
        """Call ``listener(state)`` on every change (from any thread)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        state = self.state()
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # a listener must not break a transfer
                LOG.exception("network state listener failed")

    def _error(self, what: str, exc: BaseException | None) -> None:
        self._last_error = f"{what}: {exc}" if exc is not None else ""
        self._changed()

    def node(self, name: str | Node | None = None, study_uid: str = "") -> Node:
        """``name`` if given, else the node the study was found on / came from, else the first node."""
        if isinstance(name, Node):
            return name
        if name:
            return self.config.get(name)
        candidates = [self._sources.get(study_uid)]
        if study_uid:
            study = self.cache.get_study(study_uid)
            candidates.append(study.source_node if study is not None else None)
        for candidate in candidates:
            if candidate and candidate in self.config.nodes:
                return self.config.nodes[candidate]
        if not self.config.nodes:
            raise NodeError("no DICOM node configured (telerad nodes add ...)")
        return next(iter(self.config.nodes.values()))

    # -- operations ----------------------------------------------------------------------------
    def query(self, query: Query, node: str | Node | None = None, progress: ProgressFn | None = None,
              cancel: threading.Event | None = None) -> list[dict[str, str]]:
        """Study-level C-FIND on one node (audited); remembers where each study was found."""
        from app.network.query import find
        from app.network.scu import NetworkError

        peer = self.node(node)
        try:
            rows = find(peer, self.config.local.ae_title, query, "study", cancel=cancel, progress=progress)
        except (NetworkError, OSError) as exc:
            netaudit.query(self.audit, node=peer.name, level="study", keys=query.keys(), matches=0,
                           outcome=netaudit.outcome_for(1, 0), user=self.user)
            self._error(f"query {peer.name}", exc)
            raise
        netaudit.query(self.audit, node=peer.name, level="study", keys=query.keys(), matches=len(rows),
                       user=self.user)
        with self._lock:
            self._sources.update({r["StudyInstanceUID"]: peer.name for r in rows if r.get("StudyInstanceUID")})
        self._error("", None)
        return rows

    def query_cached(self, query: Query, node: str | Node | None = None, progress: ProgressFn | None = None,
                     cancel: threading.Event | None = None) -> list[tuple[dict[str, str], int]]:
        """:meth:`query`; each match with how many of its instances are already cached."""
        rows = self.query(query, node, progress, cancel)
        return [(r, len(self.cache.instance_uids(r.get("StudyInstanceUID", "")))) for r in rows]

    def recent_query(self, today: date | None = None) -> Query:
        """The remote worklist filter: studies of the last ``recent_days`` days (all if None)."""
        if self.recent_days is None:
            return Query()
        today = today or date.today()
        return Query(date_from=(today - timedelta(days=self.recent_days)).strftime("%Y%m%d"),
                     date_to=today.strftime("%Y%m%d"))

    def remote_worklist(self, progress: ProgressFn | None = None,
                        cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """Recent studies on every node, as StudySummary-shaped dicts; a node that fails is skipped."""
        out: list[dict[str, Any]] = []
        nodes = self.nodes()
        failed: tuple[str, BaseException] | None = None
        for i, peer in enumerate(nodes):
            check_cancel(cancel)
            try:
                out += [to_summary(r, peer.name) for r in self.query(self.recent_query(), peer, cancel=cancel)]
            except Cancelled:
                raise
            except Exception as exc:  # other nodes go on
                LOG.warning("worklist poll of %s failed: %s", peer.name, exc)
                failed = (f"worklist poll of {peer.name}", exc)
            report(progress, i + 1, len(nodes), "polling nodes")
        if failed is not None:  # a later node's success must not hide it
            self._error(*failed)
        return out

    def retrieve(self, study_uid: str, progress: ProgressFn | None = None, cancel: threading.Event | None = None,
                 *, node: str | Node | None = None, arrivals: "Arrivals | None" = None) -> "RetrieveResult":
        """Fetch the instances of a study the cache lacks (:func:`app.network.fetch.retrieve_into_cache`: the
        method choice the CLI makes too, reader first, resumed after drops, "incomplete" flagged meanwhile).

        ``arrivals`` lets the viewer follow which instances are in. Positional ``(study_uid, progress, cancel)``
        is the PrefetchQueue's retrieve signature.
        """
        from app.network.fetch import choose_method, retrieve_into_cache
        from app.network.scu import NetworkError

        peer = self.node(node, study_uid)
        if peer.retrieve == "move" and self._scp is None and choose_method(peer) == "move":
            raise NetworkError(f"C-MOVE from {peer.name} needs our Storage SCP, which is not listening")
        event = threading.Event()
        relay = Relay(cancel, event)
        with self._lock:
            if self._closed:
                raise Cancelled()
            self._active.add(event)
            scp = self._scp  # kept: a restart of the SCP waits for this retrieve
        self._changed()
        try:
            result = retrieve_into_cache(self.cache, peer, self.config.local.ae_title, study_uid, scp=scp,
                                         arrivals=arrivals, audit=self.audit, user=self.user, cancel=event,
                                         progress=progress)
        except Cancelled:
            raise
        except Exception as exc:
            self._error(f"retrieve from {peer.name}", exc)
            raise
        finally:
            relay.stop()
            with self._lock:
                self._active.discard(event)
            if self._restart and not self._active:
                self._sync_scp()  # a restart or stop of the SCP waited for the retrieves
            else:
                self._changed()
        self._error(f"retrieve from {peer.name}", RuntimeError("study incomplete") if result.incomplete else None)
        return result
