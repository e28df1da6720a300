"""One object per data directory: it opens the services lazily, owns them and closes them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

from app.config import Paths, resolve_paths, user_name
from app.tasks import ProgressFn
from app.workstation import orders, reading, reports, studies, transfer

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.importer import ImportSummary
    from app.network.nodes import NodeConfig
    from app.network.retrieve import RetrieveResult
    from app.network.send import SendResult
    from app.network.session import NetworkSession
    from app.orders import Order, OrderContext, OrderStore
    from app.orders.listener import Hl7Listener
    from app.reporting.model import CriticalNotice, Report
    from app.reporting.service import ReportingContext
    from app.reporting.signing import SigningIdentity
    from app.reporting.store import ReportStore
    from app.reporting.workflow import SignedReport
    from app.store import Cache, ReconcileReport
    from app.worklist import Clock, Worklist, WorklistEntry
    from app.workstation.settings import Settings


class WorkstationError(RuntimeError):
    """A use case refused (a message meant for the user)."""


class Workstation:
    """Cache, audit log, worklist, report store (with its outbox) and network session of a data directory.

    Services open on first use (``telerad report show`` never takes the cache lock) and :meth:`close`
    closes what was opened. Thread-safe: each service locks itself."""

    def __init__(self, paths: Paths, user: str | None = None, *, clock: "Clock | None" = None,
                 services: Mapping[str, Any] | None = None) -> None:
        """``services`` lends already open ones (``cache``, ``audit``...): they are used, never closed here;
        ``clock`` drives the worklist's turnaround clocks (tests)."""
        self.paths, self.user, self.clock = paths, user or user_name(), clock
        self._lock = threading.RLock()
        self._services: dict[str, Any] = dict(services or {})
        self._lent = set(self._services)

    @classmethod
    def open(cls, data_dir: str | Path | None = None, *, user: str | None = None) -> "Workstation":
        """The workstation of ``data_dir`` (else ``TELERAD_HOME``, else the user data dir)."""
        paths = resolve_paths(str(data_dir) if data_dir is not None else None)
        paths.config_dir.mkdir(parents=True, exist_ok=True)
        return cls(paths, user)

    def __enter__(self) -> "Workstation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the network, close the worklist, reports, audit log and cache (in that order). Idempotent."""
        with self._lock:
            services = {k: v for k, v in self._services.items() if k not in self._lent}
            self._services = {k: v for k, v in self._services.items() if k in self._lent}
        if orders.HL7_SERVICE in services:
            services.pop(orders.HL7_SERVICE).stop()
        network = services.pop("network", None)
        if network is not None:
            network.shutdown()
        for name in ("worklist", "reports", "orders", "audit", "cache"):
            if name in services:
                services[name].close()

    def _service(self, name: str, factory: Any) -> Any:
        with self._lock:
            if name not in self._services:
                self._services[name] = factory()
            return self._services[name]

    # -- services ------------------------------------------------------------------------------
    @property
    def cache(self) -> "Cache":
        from app.store import Cache

        return self._service("cache", lambda: Cache.open(self.paths.cache))

    @property
    def audit(self) -> "AuditLog":
        from app.audit import AuditLog

        return self._service("audit", lambda: AuditLog(self.paths.audit_db))

    @property
    def report_store(self) -> "ReportStore":
        from app.reporting import ReportStore, report_db_path

        return self._service("reports", lambda: ReportStore(report_db_path(self.paths.home)))

    @property
    def worklist(self) -> "Worklist":
        from app.worklist import Worklist

        def make() -> "Worklist":
            options = {"clock": self.clock} if self.clock is not None else {}
            return Worklist.open(self.paths.home, marks=self.report_marks, **options)

        return self._service("worklist", make)

    def network(self, *, listen: bool | None = None) -> "NetworkSession":
        """The network session (nodes, our Storage SCP feeding the cache); created, not started, on first use."""
        from app.network.session import NetworkSession

        return self._service("network", lambda: NetworkSession(self.paths.config_dir, self.cache, self.audit,
                                                               self.user, listen=listen))

    @property
    def order_store(self) -> "OrderStore":
        return self._service("orders", lambda: orders.open_store(self))

    def reporting(self, *, with_cache: bool = True) -> "ReportingContext":
        """The reporting context on the shared report store (with the cache when the use case needs it)."""
        from app.reporting.service import ReportingContext

        return ReportingContext(self.paths.home, self.paths.config_dir, self.report_store,
                                self.cache if with_cache else None, self.audit, self.user)

    def settings(self) -> "Settings":
        """Every setting (nodes, reporting, letterhead), read and validated now."""
        from app.workstation.settings import load_settings

        return load_settings(self.paths.config_dir)

    def nodes(self) -> "NodeConfig":
        return self.settings().nodes

    # -- studies -------------------------------------------------------------------------------
    def import_paths(self, paths: Sequence[Path], *, progress: Optional[ProgressFn] = None,
                     cancel: Optional[threading.Event] = None) -> "ImportSummary":
        return studies.import_paths(self, paths, progress=progress, cancel=cancel)

    def delete_study(self, study_uid: str, *, command: str = "delete") -> bool:
        return studies.delete_study(self, study_uid, command=command)

    def check_cache(self, *, progress: Optional[ProgressFn] = None,
                    cancel: Optional[threading.Event] = None) -> "ReconcileReport":
        return studies.check_cache(self, progress=progress, cancel=cancel)

    def retrieve(self, node: str, study_uid: str, *, series_uid: Optional[str] = None, method: Optional[str] = None,
                 refetch_all: bool = False, progress: Optional[ProgressFn] = None,
                 cancel: Optional[threading.Event] = None) -> "RetrieveResult":
        return transfer.retrieve(self, node, study_uid, series_uid=series_uid, method=method,
                                 refetch_all=refetch_all, progress=progress, cancel=cancel)

    def send(self, node: str, items: Sequence[str], *, progress: Optional[ProgressFn] = None,
             cancel: Optional[threading.Event] = None) -> "SendResult":
        return transfer.send(self, node, items, progress=progress, cancel=cancel)

    # -- reading -------------------------------------------------------------------------------
    def report_marks(self, study_uids: Optional[Iterable[str]] = None) -> Mapping[str, Any]:
        return reading.report_marks(self, study_uids)

    def worklist_entries(self, remote: Optional[Iterable[Any]] = None, *, progress: Optional[ProgressFn] = None,
                         cancel: Optional[threading.Event] = None) -> "list[WorklistEntry]":
        return reading.worklist_entries(self, remote, progress=progress, cancel=cancel)

    def open_for_reading(self, study_uid: str, priors: Sequence[str] = ()) -> "reading.ReadingSession":
        return reading.open_for_reading(self, study_uid, priors)

    def release(self, study_uid: str) -> "Optional[WorklistEntry]":
        return reading.release(self, study_uid)

    def record_access(self, study_uid: str, command: str) -> None:
        reading.record_access(self, study_uid, command)

    # -- reports -------------------------------------------------------------------------------
    def draft(self, study_uid: str, template_id: Optional[str] = None,
              sections: Optional[Mapping[str, str]] = None) -> "Report":
        return reports.draft(self, study_uid, template_id, sections)

    def open_report(self, study_uid: str, *, create: bool = True) -> "Optional[Report]":
        return reports.open_report(self, study_uid, create=create)

    def set_critical(self, report_id: str, critical: bool, text: str = "") -> "Report":
        return reports.set_critical(self, report_id, critical, text)

    def record_notice(self, report_id: str, notice: "CriticalNotice") -> "Report":
        return reports.record_notice(self, report_id, notice)

    def sign(self, report_id: str, identity: "SigningIdentity", node: Optional[str] = None, *,
             progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> "SignedReport":
        return reports.sign(self, report_id, identity, node, progress=progress, cancel=cancel)

    def start_addendum(self, study_uid: str, note: str = "", sections: Optional[Mapping[str, str]] = None) -> "Report":
        return reports.start_addendum(self, study_uid, note, sections)

    # -- orders --------------------------------------------------------------------------------
    def start_hl7_listener(self, port: Optional[int] = None, host: Optional[str] = None) -> "Hl7Listener":
        return orders.start_listener(self, port, host)

    def stop_hl7_listener(self) -> None:
        orders.stop_listener(self)

    def orders_for_studies(self, study_uids: Optional[Iterable[str]] = None) -> "dict[str, Order]":
        return orders.orders_for_studies(self, study_uids)

    def order_context(self, study_uids: Iterable[str]) -> "dict[str, OrderContext]":
        return orders.order_context(self, study_uids)

    def order_list(self, *, awaiting_only: bool = False) -> "list[tuple[Order, Optional[str]]]":
        return orders.order_list(self, awaiting_only=awaiting_only)
