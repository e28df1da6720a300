"""One object per data directory: it opens the services lazily, owns them and closes them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

from app.config import Paths, resolve_paths, user_name
from app.tasks import ProgressFn
from app.workstation import (ai, atrest, audit_events, audit_export, group, orders, reading, reports, security, studies,
                             transfer)

if TYPE_CHECKING:
    from datetime import datetime

    from app.ai import AiStore
    from app.audit import AuditLog
    from app.export import DeidOptions, ExportResult
    from app.importer import ImportSummary
    from app.network.nodes import NodeConfig
    from app.network.retrieve import RetrieveResult
    from app.network.send import SendResult
    from app.network.session import NetworkSession
    from app.orders import Order, OrderContext, OrderStore
    from app.orders.listener import Hl7Listener
    from app.reporting.critical import CriticalResult
    from app.reporting.model import CriticalNotice, Report
    from app.reporting.service import ReportingContext
    from app.reporting.signing import SigningIdentity
    from app.reporting.store import ReportStore
    from app.reporting.workflow import SignedReport
    from app.security import AccountStore, Session
    from app.store import Cache, ReconcileReport
    from app.worklist import Clock, Worklist, WorklistEntry
    from app.workstation.purge import PurgeResult, PurgeSchedule
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
        self._application: str | None = None  # set by start_application: its stop is audited on close
        self.session: "Session | None" = None  # the signed-in user (app.workstation.security); None: lone reader
        self.group_url: str | None = None  # --group: the shared PostgreSQL worklist (app.workstation.group)
        self.data_keys: Any = None  # the folder's app.crypto.DataKeys once unlocked (app.workstation.atrest)
        self.unlocker: Any = None  # () -> Session: how a locked folder unlocks on first use (the CLI asks)

    @classmethod
    def open(cls, data_dir: str | Path | None = None, *, user: str | None = None) -> "Workstation":
        """The workstation of ``data_dir`` (else ``TELERAD_HOME``, else the user data dir)."""
        from app.config import private_dir

        paths = resolve_paths(str(data_dir) if data_dir is not None else None)
        private_dir(paths.home)  # owner-only (0700) whatever the umask: everything below holds PHI
        private_dir(paths.config_dir)
        return cls(paths, user)

    def __enter__(self) -> "Workstation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the network, close the worklist, reports, audit log and cache (in that order). Idempotent."""
        if self.session is not None:
            security.sign_out(self, "application closed")
        application, self._application = self._application, None
        if application is not None:
            audit_events.application(self, False, application)
        with self._lock:
            services = {k: v for k, v in self._services.items() if k not in self._lent}
            self._services = {k: v for k, v in self._services.items() if k in self._lent}
        if "purge_schedule" in services:  # first: a running purge finishes while the stores are open
            services.pop("purge_schedule").stop()
        if orders.HL7_SERVICE in services:
            services.pop(orders.HL7_SERVICE).stop()
        network = services.pop("network", None)
        if network is not None:
            network.shutdown()
        if "group" in services:  # its lease keeper and connection (app.workstation.group)
            services.pop("group").close()
        for name in ("worklist", "reports", "orders", ai.AI_SERVICE, audit_export.SENDER, "audit", "cache",
                     security.ACCOUNTS):
            if name in services:
                services[name].close()
        atrest.lock_data(self)

    def _service(self, name: str, factory: Any) -> Any:
        with self._lock:
            if name not in self._services:
                if name in atrest.DATA_SERVICES:
                    atrest.ensure_unlocked(self)  # patient data opens only unlocked (or in plaintext mode)
                self._services[name] = factory()
            return self._services[name]

    # -- services ------------------------------------------------------------------------------
    @property
    def cache(self) -> "Cache":
        from app.store import Cache

        return self._service("cache", lambda: Cache.open(self.paths.cache))

    @property
    def audit(self) -> "AuditLog":
        return self._service("audit", lambda: audit_export.open_audit(self))

    @property
    def report_store(self) -> "ReportStore":
        from app.reporting import ReportStore, report_db_path

        return self._service("reports", lambda: ReportStore(report_db_path(self.paths.home)))

    @property
    def worklist(self) -> "Worklist":
        from app.worklist import Worklist

        def make() -> "Worklist":
            options = {"clock": self.clock} if self.clock is not None else {}
            return Worklist.open(self.paths.home, marks=self.report_marks, orders=self.order_marks,
                                 ai=self.ai_marks, **options)

        return self._service("worklist", make)

    def network(self, *, listen: bool | None = None) -> "NetworkSession":
        """The network session (nodes, our Storage SCP feeding the cache); created, not started, on first use."""
        from app.network.session import NetworkSession

        return self._service("network", lambda: NetworkSession(self.paths.config_dir, self.cache, self.audit,
                                                               self.user, listen=listen))

    @property
    def ai_store(self) -> "AiStore":
        return self._service(ai.AI_SERVICE, lambda: ai.open_store(self))

    @property
    def order_store(self) -> "OrderStore":
        return self._service("orders", lambda: orders.open_store(self))

    def reporting(self, *, with_cache: bool = True) -> "ReportingContext":
        """The reporting context on the shared report store (with the cache when the use case needs it)."""
        from app.reporting.service import ReportingContext

        return ReportingContext(self.paths.home, self.paths.config_dir, self.report_store,
                                self.cache if with_cache else None, self.audit, self.user)

    @property
    def accounts(self) -> "AccountStore":
        """The user accounts of this data dir (``accounts.sqlite``)."""
        return self._service(security.ACCOUNTS, lambda: security.open_store(self))

    def settings(self) -> "Settings":
        """Every setting (nodes, reporting, letterhead), read and validated now."""
        from app.workstation.settings import load_settings

        return load_settings(self.paths.config_dir)

    def nodes(self) -> "NodeConfig":
        return self.settings().nodes

    # -- export --------------------------------------------------------------------------------
    def export_deidentified(self, study_uid: str, destination: Optional[Path], options: "DeidOptions", *,
                            series_uids: Optional[Sequence[str]] = None, dicomdir: bool = False,
                            node: Optional[str] = None, progress: Optional[ProgressFn] = None,
                            cancel: Optional[threading.Event] = None) -> "ExportResult":
        from app.workstation import export

        return export.export_deidentified(self, study_uid, destination, options, series_uids=series_uids,
                                          dicomdir=dicomdir, node=node, progress=progress, cancel=cancel)

    def export_signed_report(self, study_uid: str, destination: Path) -> "list[Path]":
        """The study's signed report files, decrypted and checked, copied into ``destination``."""
        from app.workstation.report_export import export_signed

        return export_signed(self, study_uid, destination)

    # -- encryption at rest ---------------------------------------------------------------------
    def encrypt_remaining(self, progress: Optional[ProgressFn] = None,
                          cancel: Optional[threading.Event] = None) -> int:
        """Encrypt the stored files still in plaintext (a folder that got its first account); how many."""
        return atrest.encrypt_remaining(self, progress, cancel)

    # -- sign-in -------------------------------------------------------------------------------
    def sign_in(self, name: str, password: str) -> "Session":
        return security.sign_in(self, name, password)

    def sign_out(self, reason: str = "sign-out") -> None:
        security.sign_out(self, reason)

    def sign_in_required(self) -> bool:
        return security.sign_in_required(self)

    # -- audit ---------------------------------------------------------------------------------
    def start_application(self, what: str = "window") -> None:
        """Audit Application Start (110100/110120) now and Application Stop on :meth:`close`."""
        self._application = what
        audit_events.application(self, True, what)

    def audit_verify(self) -> "tuple[bool, Optional[int]]":
        return audit_export.verify(self)

    def audit_export_status(self) -> "audit_export.ExportStatus":
        return audit_export.export_status(self)

    def flush_audit(self) -> int:
        return audit_export.flush(self)

    # -- studies -------------------------------------------------------------------------------
    def import_paths(self, paths: Sequence[Path], *, progress: Optional[ProgressFn] = None,
                     cancel: Optional[threading.Event] = None) -> "ImportSummary":
        summary = studies.import_paths(self, paths, progress=progress, cancel=cancel)
        group.publish_studies(self, summary.studies)  # --group: onto the shared worklist too
        return summary

    def delete_study(self, study_uid: str, *, command: str = "delete", signed: Optional[str] = None,
                     detail: Optional[dict] = None) -> "studies.DeleteResult":
        return studies.delete_study(self, study_uid, command=command, signed=signed, detail=detail)

    def purge(self, *, now: Optional["datetime"] = None, dry_run: bool = False, command: str = "purge",
              progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> "PurgeResult":
        """Apply the site's retention rule (retention.json) to every study (app.workstation.purge)."""
        from app.workstation.purge import purge

        return purge(self, now=now, dry_run=dry_run, command=command, progress=progress, cancel=cancel)

    def start_purge_schedule(self, *, first_delay_s: float = 60.0, interval_s: float = 86400.0) -> "PurgeSchedule":
        """The daily purge thread (the window and `telerad listen` start it; :meth:`close` stops it)."""
        from app.workstation.purge import start_schedule

        return start_schedule(self, first_delay_s=first_delay_s, interval_s=interval_s)

    def check_cache(self, *, progress: Optional[ProgressFn] = None,
                    cancel: Optional[threading.Event] = None) -> "ReconcileReport":
        return studies.check_cache(self, progress=progress, cancel=cancel)

    def retrieve(self, node: str, study_uid: str, *, series_uid: Optional[str] = None, method: Optional[str] = None,
                 refetch_all: bool = False, progress: Optional[ProgressFn] = None,
                 cancel: Optional[threading.Event] = None) -> "RetrieveResult":
        result = transfer.retrieve(self, node, study_uid, series_uid=series_uid, method=method,
                                   refetch_all=refetch_all, progress=progress, cancel=cancel)
        group.publish_studies(self, [study_uid])  # --group: onto the shared worklist too
        return result

    def send(self, node: str, items: Sequence[str], *, progress: Optional[ProgressFn] = None,
             cancel: Optional[threading.Event] = None) -> "SendResult":
        return transfer.send(self, node, items, progress=progress, cancel=cancel)

    # -- reading -------------------------------------------------------------------------------
    def report_marks(self, study_uids: Optional[Iterable[str]] = None) -> Mapping[str, Any]:
        return reading.report_marks(self, study_uids)

    def worklist_entries(self, remote: Optional[Iterable[Any]] = None, *, progress: Optional[ProgressFn] = None,
                         cancel: Optional[threading.Event] = None) -> "list[WorklistEntry]":
        entries = reading.worklist_entries(self, remote, progress=progress, cancel=cancel)
        group.publish_entries(self, entries)  # --group: what entered the cache goes onto the shared worklist
        return group.with_group_claims(self, entries)  # --group: colleagues' claims shown

    def watch_group(self, changed: Any) -> None:
        """--group: ``changed()`` (from a thread) whenever another reader changes the shared worklist."""
        group.watch_worklist(self, changed)

    def group_next_case(self) -> Any:
        """--group: claim the most urgent study this reader may read (``NextResult``)."""
        return group.next_case(self)

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
             communication: "Optional[CriticalNotice]" = None, confirm_normal_text: bool = False,
             preliminary: bool = False, review: str = "", review_note: str = "",
             progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> "SignedReport":
        signed = reports.sign(self, report_id, identity, node, communication=communication,
                              confirm_normal_text=confirm_normal_text, preliminary=preliminary, review=review,
                              review_note=review_note, progress=progress, cancel=cancel)
        group.report_signed(self, signed.report, preliminary=preliminary)  # --group: the state, queued locally
        return signed

    def check_signable(self, report_id: str, *, confirm_normal_text: bool = False) -> None:
        reports.check_signable(self, report_id, confirm_normal_text=confirm_normal_text)

    def communicate(self, report_id: str, recipient: str, method: str, *, role: str = "", when: str = "",
                    read_back: bool = False, note: str = "") -> "Report":
        return reports.communicate(self, report_id, recipient, method, role=role, when=when, read_back=read_back,
                                   note=note)

    def critical_results(self, since_hours: float = 12.0) -> "list[CriticalResult]":
        return reports.critical_results(self, since_hours)

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

    def order_marks(self, studies: Iterable[Any]) -> Mapping[str, Any]:
        return orders.order_marks(self, studies)

    def order_mark(self, study_uid: str) -> Any:
        return orders.order_mark(self, study_uid)

    def orders_revision(self) -> tuple[int, int, str]:
        return orders.orders_revision(self)

    # -- AI results ----------------------------------------------------------------------------
    def scan_ai_results(self, study_uids: Optional[Iterable[str]] = None) -> "list[ai.AiWarning]":
        return ai.scan(self, study_uids)

    def ai_marks(self, study_uids: Optional[Iterable[str]] = None) -> Mapping[str, Any]:
        return ai.ai_marks(self, study_uids)

    def ai_findings(self, study_uid: str) -> "list[ai.FindingView]":
        return ai.findings(self, study_uid)

    def ai_warnings(self, study_uid: Optional[str] = None) -> "list[ai.AiWarning]":
        return ai.warnings(self, study_uid)

    def decide_ai_finding(self, study_uid: str, key: str, decision: str, note: str = "") -> "ai.FindingView":
        return ai.decide(self, study_uid, key, decision, note)
