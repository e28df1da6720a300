"""Reporting operations wired to the rest of the workstation (cache, nodes, audit): used by the CLI and UI.

Qt-free and blocking; long operations accept ``progress``/``cancel`` like every core function.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

from app.reporting import auditing
from app.reporting.model import CriticalNotice, Report, ReportError, ReportKind, ReportState
from app.reporting.settings import ReportingSettings, load_settings
from app.reporting.store import ReportStore
from app.reporting.workflow import SignedReport, hl7_delivery_key, report_db_path, report_files_dir
from app.tasks import ProgressFn, check_cancel, report

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.network.nodes import NodeConfig
    from app.reporting.outbox import Outbox
    from app.reporting.signing import SigningIdentity
    from app.reporting.templates import Template
    from app.store import Cache, StoreResult

NON_IMAGE_MODALITIES = frozenset({"SR", "DOC", "KO", "PR", "SEG", "REG", "RWV", "OT"})


@dataclass
class ReportingContext:
    """Everything reporting needs: data dir, config dir, the report store, and (optionally) cache and audit."""

    home: Path
    config_dir: Path
    store: ReportStore
    cache: "Optional[Cache]" = None
    audit: "Optional[AuditLog]" = None
    user: str = ""
    _templates: "Optional[dict[str, Template]]" = field(default=None, repr=False)

    @classmethod
    def open(cls, home: Path, config_dir: Path, cache: "Optional[Cache]" = None,
             audit: "Optional[AuditLog]" = None, user: str = "") -> "ReportingContext":
        """Open ``<home>/reports.sqlite``."""
        return cls(Path(home), Path(config_dir), ReportStore(report_db_path(home)), cache, audit, user)

    def close(self) -> None:
        self.store.close()

    @property
    def files_dir(self) -> Path:
        return report_files_dir(self.home)

    def settings(self) -> ReportingSettings:
        return load_settings(self.config_dir)

    def nodes(self) -> "NodeConfig":
        from app.network.nodes import load

        return load(self.config_dir)

    def templates(self) -> "dict[str, Template]":
        if self._templates is None:
            from app.reporting.templates import load_templates

            self._templates = load_templates()
        return self._templates

    def outbox(self, cancel: Optional[threading.Event] = None) -> "Outbox":
        """The outbox with the real sender (C-STORE / STOW-RS) and the configured backoff."""
        from app.reporting.delivery import ReportSender
        from app.reporting.outbox import Backoff

        settings = self.settings()
        sender = ReportSender(self.nodes(), settings, self.audit, self.user or None, cancel)
        return self.store.outbox(sender, backoff=Backoff(settings.retry_base_s, settings.retry_cap_s),
                                 audit=self.audit, user=self.user or None)


def _need_cache(ctx: ReportingContext) -> "Cache":
    if ctx.cache is None:
        raise ReportError("this operation needs the study cache")
    return ctx.cache


def source_instance(cache: "Cache", study_uid: str) -> Path:
    """A representative instance of the study (middle of its largest image series) to copy headers from."""
    series = cache.list_series(study_uid)
    if not series:
        raise ReportError(f"study {study_uid} is not in the local cache")
    images = [s for s in series if s.modality not in NON_IMAGE_MODALITIES] or series
    for s in sorted(images, key=lambda s: -s.num_instances):
        present = [i for i in cache.list_instances(s.series_instance_uid) if i.state == "ok"]
        if present:
            return present[len(present) // 2].path
    raise ReportError(f"study {study_uid} has no instance on disk")


def destination_for(ctx: ReportingContext, study_uid: str) -> Optional[str]:
    """Node the study's report goes to (source node or configured destination), None to keep it local."""
    summary = ctx.cache.get_study(study_uid) if ctx.cache is not None else None
    source = summary.source_node if summary is not None else None
    return ctx.settings().choose_node(source, set(ctx.nodes().nodes))


def current_report(store: ReportStore, study_uid: str) -> Optional[Report]:
    """The report being worked on: the newest unsigned one (draft/addendum), else the newest signed one."""
    reports = store.for_study(study_uid)
    if not reports:
        return None
    open_ = [r for r in reports if r.editable]
    return open_[-1] if open_ else reports[-1]


def draft_for_study(ctx: ReportingContext, study_uid: str, template_id: Optional[str] = None,
                    sections: Optional[Mapping[str, str]] = None) -> Report:
    """The study's open draft (created from the cache and the chosen or automatic template if none exists),
    with ``sections`` applied. ReportError if the study's report is signed (write an addendum)."""
    from app.reporting.workflow import start_draft

    found = current_report(ctx.store, study_uid)
    if found is not None and not found.editable:
        raise ReportError(f"the report of {study_uid} is signed; write an addendum")
    if template_id is not None and template_id not in ctx.templates():
        raise ReportError(f"unknown template {template_id!r} (known: {', '.join(sorted(ctx.templates()))})")
    if found is None:
        found = start_draft(ctx.store, source_instance(_need_cache(ctx), study_uid), ctx.templates(), template_id)
    if sections:
        ctx.store.update_sections(found.id, dict(sections))
    return ctx.store.get(found.id)


def start_addendum(ctx: ReportingContext, study_uid: str, note: str = "",
                   sections: Optional[Mapping[str, str]] = None) -> Report:
    """A draft addendum to the study's newest signed report (or its already open addendum)."""
    reports = ctx.store.for_study(study_uid)
    open_ = [r for r in reports if r.editable and r.kind == ReportKind.ADDENDUM]
    if open_:
        draft = open_[-1]
    else:
        signed = [r for r in reports if r.state == ReportState.FINAL]
        if not signed:
            raise ReportError(f"study {study_uid} has no signed report to add to")
        draft = ctx.store.create_addendum(signed[-1].id, note)
    if note:
        ctx.store.set_addendum_note(draft.id, note)
    if sections:
        ctx.store.update_sections(draft.id, dict(sections))
    return ctx.store.get(draft.id)


def set_critical(ctx: ReportingContext, report_id: str, critical: bool, text: str = "") -> Report:
    """Flag/unflag a critical finding (audited)."""
    ctx.store.set_critical(report_id, critical, text)
    updated = ctx.store.get(report_id)
    auditing.critical_flagged(ctx.audit, updated, critical, ctx.user or None)
    return updated


def record_notice(ctx: ReportingContext, report_id: str, notice: CriticalNotice) -> Report:
    """Record who was told about the critical finding (audited; allowed after signing)."""
    ctx.store.record_critical_notice(report_id, notice)
    updated = ctx.store.get(report_id)
    auditing.critical_communicated(ctx.audit, updated, notice, ctx.user or None)
    return updated


def normal_texts(ctx: ReportingContext, report: Report) -> dict[str, str]:
    """The normal (default) section texts of the report's template ({} without one)."""
    template = ctx.templates().get(report.template_id)
    return template.default_sections() if template is not None else {}


def sign(ctx: ReportingContext, report_id: str, identity: "SigningIdentity", node: Optional[str] = None, *,
         confirm_normal_text: bool = False, preliminary: bool = False, review: str = "", review_note: str = "",
         progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> SignedReport:
    """Sign: PDF + SR + encapsulated PDF (+ HL7 ORU^R01 when ``reporting.json`` has ``hl7``), state/outputs/
    outbox rows in one transaction, objects into the cache (part of their study), audit. ``node`` overrides
    the automatic destination. A critical report needs its communication recorded first and, when its
    findings or impression still hold the template's normal text, ``confirm_normal_text`` (app.reporting.critical).
    ``preliminary`` signs a preliminary read; finalising one takes another signer and ``review`` (none / minor /
    major discrepancy; app.reporting.reads)."""
    from app.reporting import reads
    from app.reporting.critical import check_signable
    from app.reporting.dicom_common import header_repairs
    from app.reporting.letterhead import load_letterhead
    from app.reporting.workflow import sign_report

    cache = _need_cache(ctx)
    target = ctx.store.get(report_id)
    if target.editable:
        check_signable(target, normal_texts(ctx, target), confirm_normal_text=confirm_normal_text)
        if preliminary:
            reads.check_preliminary(target)
        else:
            reads.check_final(target, identity.person_name, review)
    report(progress, 0, 3, "preparing")
    check_cancel(cancel)
    node = node or destination_for(ctx, target.study.study_uid)
    hl7 = ctx.settings().hl7
    if node is not None:
        ctx.nodes().get(node)  # unknown node: fail before signing
    source = source_instance(cache, target.study.study_uid)
    ctx.store.record_repairs(report_id, header_repairs(source))  # what our objects change in its header
    report(progress, 1, 3, "signing")
    check_cancel(cancel)  # last point where cancelling is allowed: signing commits as one unit
    if target.preliminary_signer and not preliminary:
        ctx.store.record_review(report_id, review, review_note, identity.person_name)
    result = sign_report(ctx.store, report_id, identity, source, ctx.files_dir, load_letterhead(ctx.config_dir),
                         node=node, hl7=hl7, audit=ctx.audit, preliminary=preliminary)
    report(progress, 2, 3, "storing in the cache")
    publish_to_cache(ctx.store, cache, result.report.id, ctx.audit, ctx.user or None)
    auditing.report_signed(ctx.audit, result.report, ctx.store.outputs(report_id), node, ctx.user or None)
    report(progress, 3, 3, "signed")
    return result


def publish_to_cache(store: ReportStore, cache: "Cache", report_id: str, audit: "Optional[AuditLog]" = None,
                     user: Optional[str] = None) -> "list[StoreResult]":
    """Store a signed report's SR and encapsulated PDF into the cache (idempotent: duplicates are no-ops); the
    PDF and the HL7 message (no SOP Instance UID) stay out. A file that changed after signing is refused
    (Security Alert, error logged) and the others are still published."""
    import logging

    from app.reporting.integrity import IntegrityError, check_output

    results = []
    for out in store.outputs(report_id):
        if out.sop_instance_uid and cache.get_instance(out.sop_instance_uid) is None:
            try:
                check_output(out, audit, report_id=report_id, action="publish", user=user)
            except IntegrityError as exc:
                logging.getLogger(__name__).error("report %s: %s", report_id, exc)
                continue
            results.append(cache.store_file(Path(out.path)))
    return results


def publish_study(ctx: ReportingContext, study_uid: str) -> int:
    """:func:`publish_to_cache` for every signed report of a study (no-op without a cache); returns how many
    objects were missing and got stored (e.g. after a crash between signing and the cache step)."""
    if ctx.cache is None:
        return 0
    return sum(1 for r in ctx.store.for_study(study_uid) if r.state == ReportState.FINAL
               for res in publish_to_cache(ctx.store, ctx.cache, r.id, ctx.audit, ctx.user or None)
               if res.status == "imported")


def sync_cache(store: ReportStore, cache: "Cache", audit: "Optional[AuditLog]" = None) -> int:
    """Publish every signed report's objects that are missing from the cache (after a crash); returns
    how many were stored."""
    with store._lock:
        ids = [r[0] for r in store.db.execute("SELECT id FROM reports WHERE state = 'final'").fetchall()]
    return sum(1 for rid in ids for r in publish_to_cache(store, cache, rid, audit) if r.status == "imported")


def delivery_states(store: ReportStore, report_id: str) -> dict[str, dict[str, Any]]:
    """Per output role (sr, epdf, hl7): state (queued/sending/sent/failed, or 'local' when nothing is queued),
    node, attempts, last error and ``sop_instance_uid`` (the outbox key: ``hl7:<report id>`` for hl7,
    ``hl7-critical:<report id>`` for the critical notification)."""
    from app.reporting import hl7_critical
    from app.reporting.outbox import Outbox

    items = {i.sop_instance_uid: i for i in Outbox(store.db, lambda p, n: None, lock=store._lock).items(report_id)}
    states: dict[str, dict[str, Any]] = {}
    for out in store.outputs(report_id):
        key = hl7_delivery_key(report_id) if out.role == "hl7" else out.sop_instance_uid
        if out.role.endswith(hl7_critical.ROLE):
            key = hl7_critical.delivery_key(report_id)
        if not key:
            continue
        item = items.get(key)
        states[out.role] = {"state": item.state if item else "local", "node": item.node if item else None,
                            "attempts": item.attempts if item else 0, "error": item.last_error if item else "",
                            "sop_instance_uid": key}
    return states


def output_problems(ctx: ReportingContext, report_id: str, action: str = "show") -> dict[str, str]:
    """Per output role, why its file is not the one signed (missing or changed; a Security Alert each);
    empty when every file matches its recorded SHA-256."""
    from app.reporting.integrity import IntegrityError, check_output

    found = {}
    for out in ctx.store.outputs(report_id):
        try:
            check_output(out, ctx.audit, report_id=report_id, action=action, user=ctx.user or None)
        except IntegrityError as exc:
            found[out.role] = str(exc)
    return found
