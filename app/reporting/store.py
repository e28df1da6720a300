"""ReportStore: drafts persisted on every edit, state transitions, signed reports immutable."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from app.clock import utc_iso as utc_now
from app.reporting import codec
from app.reporting.model import (
    SECTION_KEYS, CriticalNotice, ImmutableReportError, KeyImage, Measurement, Report, ReportError, ReportKind,
    ReportState, StudyInfo,
)
from app.reporting.outbox import Delivery, Outbox, SendFn, enqueue
from app.reporting.schema import open_db, transaction


@dataclass(frozen=True)
class OutputFile:
    """One file produced when signing: role is ``pdf``, ``sr`` or ``epdf`` (encapsulated PDF)."""

    role: str
    path: str
    sha256: str
    size: int
    sop_instance_uid: str = ""
    series_uid: str = ""


class ReportStore:
    """All report persistence. Thread-safe; every edit is committed before the call returns."""

    def __init__(self, db_path: Path) -> None:
        self.path = Path(db_path)
        self.db = open_db(self.path)
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.db.close()

    # ---- reading
    def get(self, report_id: str) -> Report:
        """The report with ``report_id`` (ReportError if unknown)."""
        with self._lock:
            rows = list(self.db["reports"].rows_where("id = ?", [report_id]))
            if not rows:
                raise ReportError(f"no report {report_id}")
            notices = self.db["critical_notices"].rows_where("report_id = ?", [report_id], order_by="id")
            return _to_report(rows[0], [_to_notice(n) for n in notices])

    def for_study(self, study_uid: str) -> list[Report]:
        """Every report of a study: the original first, then addenda in creation order."""
        with self._lock:
            ids = [r["id"] for r in self.db["reports"].rows_where(
                "study_uid = ?", [study_uid], order_by="kind = 'addendum', created_at", select="id")]
        return [self.get(i) for i in ids]

    def original_for_study(self, study_uid: str) -> Optional[Report]:
        """The study's original report, if one exists."""
        reports = [r for r in self.for_study(study_uid) if r.kind == ReportKind.ORIGINAL]
        return reports[0] if reports else None

    def outputs(self, report_id: str) -> list[OutputFile]:
        """Files recorded when the report was signed."""
        with self._lock:
            rows = self.db["report_outputs"].rows_where("report_id = ?", [report_id], order_by="role")
            return [OutputFile(r["role"], r["path"], r["sha256"], r["size"], r["sop_instance_uid"] or "",
                               r["series_uid"] or "") for r in rows]

    def study_status(self, study_uid: str) -> str:
        """Worklist status: '' (no report), draft, preliminary, final, or addended (a signed addendum exists);
        an unsigned addendum of a final report shows as final."""
        reports = self.for_study(study_uid)
        if not reports:
            return ""
        if any(r.kind == ReportKind.ADDENDUM and r.state == ReportState.FINAL for r in reports):
            return "addended"
        return str(reports[0].state)

    def outbox(self, send: SendFn, **options: Any) -> Outbox:
        """An :class:`Outbox` on this store's connection, sharing its lock (safe across threads)."""
        return Outbox(self.db, send, lock=self._lock, **options)

    # ---- creating
    def create_draft(self, study: StudyInfo, sections: Optional[Mapping[str, str]] = None,
                     template_id: str = "") -> Report:
        """Create the study's (single) original report as a draft; ReportError if one already exists."""
        if self.original_for_study(study.study_uid) is not None:
            raise ReportError(f"study {study.study_uid} already has a report")
        return self._insert(study, ReportKind.ORIGINAL, _full_sections(sections), template_id, "", "")

    def create_addendum(self, predecessor_id: str, note: str = "") -> Report:
        """A new draft report correcting a signed one; sections start as a copy of the predecessor's."""
        pred = self.get(predecessor_id)
        if pred.state != ReportState.FINAL:
            raise ReportError("an addendum needs a signed predecessor")
        return self._insert(pred.study, ReportKind.ADDENDUM, dict(pred.sections), pred.template_id, pred.id, note,
                            measurements=pred.measurements, key_images=pred.key_images)

    def _insert(self, study: StudyInfo, kind: ReportKind, sections: Mapping[str, str], template_id: str,
                predecessor_id: str, note: str, measurements: Sequence[Measurement] = (),
                key_images: Sequence[KeyImage] = ()) -> Report:
        now = utc_now()
        row = {
            "id": str(uuid.uuid4()), "study_uid": study.study_uid, "kind": str(kind), "state": str(ReportState.DRAFT),
            "study_json": codec.dumps(study), "sections_json": codec.dumps(sections), "template_id": template_id,
            "predecessor_id": predecessor_id, "addendum_note": note,
            "measurements_json": codec.dumps(list(measurements)), "key_images_json": codec.dumps(list(key_images)),
            "critical": 0, "critical_text": "", "created_at": now, "updated_at": now, "signed_at": "",
            "signer_name": "", "content_hash": "", "revision": 0,
        }
        with self._lock, transaction(self.db):
            self.db["reports"].insert(row)
        return self.get(row["id"])

    # ---- editing (each call is one committed transaction: the autosave guarantee)
    def update_section(self, report_id: str, key: str, text: str) -> None:
        """Replace one section's text."""
        self.update_sections(report_id, {key: text})

    def update_sections(self, report_id: str, changes: Mapping[str, str]) -> None:
        """Replace several sections' text at once."""
        unknown = set(changes) - set(SECTION_KEYS)
        if unknown:
            raise ReportError(f"unknown sections {sorted(unknown)}")
        with self._lock:
            current = dict(self.get(report_id).sections)
            current.update(changes)
            self._edit(report_id, sections_json=codec.dumps(current))

    def set_template(self, report_id: str, template_id: str) -> None:
        """Record the template the draft follows (the editor's template picker)."""
        self._edit(report_id, template_id=template_id)

    def set_addendum_note(self, report_id: str, note: str) -> None:
        """The addendum's reason/comment text."""
        self._edit(report_id, addendum_note=note)

    def add_measurement(self, report_id: str, measurement: Measurement) -> None:
        """Append a viewer measurement."""
        with self._lock:
            items = list(self.get(report_id).measurements) + [measurement]
            self._edit(report_id, measurements_json=codec.dumps(items))

    def add_key_image(self, report_id: str, key_image: KeyImage) -> None:
        """Append a key image."""
        with self._lock:
            items = list(self.get(report_id).key_images) + [key_image]
            self._edit(report_id, key_images_json=codec.dumps(items))

    def set_critical(self, report_id: str, critical: bool, text: str = "") -> None:
        """Flag (or unflag) the report as holding a critical finding, with its description."""
        self._edit(report_id, critical=int(critical), critical_text=text if critical else "")

    def mark_preliminary(self, report_id: str) -> None:
        """draft -> preliminary (still editable, visible as a preliminary result)."""
        self._edit(report_id, state=str(ReportState.PRELIMINARY))

    def record_critical_notice(self, report_id: str, notice: CriticalNotice) -> None:
        """Append who was told about the critical finding, how and when (allowed after signing too)."""
        with self._lock, transaction(self.db):
            if not self.db.execute("SELECT 1 FROM reports WHERE id = ?", [report_id]).fetchone():
                raise ReportError(f"no report {report_id}")
            self.db["critical_notices"].insert({
                "report_id": report_id, "recipient": notice.recipient, "method": notice.method,
                "communicated_at": notice.communicated_at, "recorded_by": notice.recorded_by,
                "note": notice.note, "recorded_at": utc_now(), "role": notice.role,
                "read_back": int(notice.read_back)})

    def _edit(self, report_id: str, **columns: Any) -> None:
        sets = ", ".join(f"{c} = ?" for c in columns)
        with self._lock, transaction(self.db):
            cur = self.db.execute(
                f"UPDATE reports SET {sets}, updated_at = ?, revision = revision + 1 "
                "WHERE id = ? AND state IN ('draft', 'preliminary')",
                [*columns.values(), utc_now(), report_id])
            if cur.rowcount == 1:
                return
            row = self.db.execute("SELECT state FROM reports WHERE id = ?", [report_id]).fetchone()
        if row is None:
            raise ReportError(f"no report {report_id}")
        raise ImmutableReportError(f"report {report_id} is {row[0]}: signed reports cannot be edited")

    # ---- signing
    def signed_version(self, report_id: str, signer_name: str, signed_at: str,
                       state: ReportState = ReportState.FINAL) -> Report:
        """The report as it will be once signed (state final, or preliminary for a preliminary read; hash set):
        render outputs from this."""
        report = self.get(report_id)
        if not report.editable:
            raise ImmutableReportError(f"report {report_id} is already signed")
        signed = replace(report, state=state, signer_name=signer_name, signed_at=signed_at)
        return replace(signed, content_hash=codec.content_hash(signed))

    def finalize(self, signed: Report, outputs: Iterable[OutputFile], deliveries: Iterable[Delivery] = ()) -> Report:
        """Commit the signature, the output files and the outbox rows in ONE transaction."""
        return self._commit_signed(
            signed, outputs, deliveries,
            "UPDATE reports SET state = 'final', signer_name = ?, signed_at = ?, content_hash = ?, updated_at = ? "
            "WHERE id = ? AND revision = ? AND state IN ('draft', 'preliminary')",
            [signed.signer_name, signed.signed_at, signed.content_hash, utc_now()],
            "report changed while it was being signed")

    def sign_preliminary(self, signed: Report, outputs: Iterable[OutputFile],
                         deliveries: Iterable[Delivery] = ()) -> Report:
        """Commit a preliminary read in ONE transaction: its signer and time, its output files (roles
        ``preliminary_*``) and outbox rows; the report stays editable until another reader finalises it."""
        return self._commit_signed(
            signed, outputs, deliveries,
            "UPDATE reports SET state = 'preliminary', preliminary_signer = ?, preliminary_signed_at = ?, "
            "updated_at = ?, revision = revision + 1 WHERE id = ? AND revision = ? AND state = 'draft'",
            [signed.signer_name, signed.signed_at, utc_now()],
            "only a draft can be signed as a preliminary read (or it changed meanwhile)")

    def _commit_signed(self, signed: Report, outputs: Iterable[OutputFile], deliveries: Iterable[Delivery],
                       update: str, values: list[Any], conflict: str) -> Report:
        """Run ``update`` (``values`` then id and revision) with the output files and outbox rows in ONE
        transaction, after checking ``signed`` still hashes as the stored report; ReportError(``conflict``)
        when no row matched."""
        current = self.get(signed.id)
        if codec.content_hash(replace(current, state=signed.state, signer_name=signed.signer_name,
                                      signed_at=signed.signed_at)) != signed.content_hash:
            raise ReportError("report changed while it was being signed")
        with self._lock, transaction(self.db):
            cur = self.db.execute(update, [*values, signed.id, current.revision])
            if cur.rowcount != 1:
                raise ReportError(conflict)
            for out in outputs:
                self.db["report_outputs"].insert({"report_id": signed.id, **out.__dict__})
            enqueue(self.db, signed.id, deliveries)
        return self.get(signed.id)

    def record_review(self, report_id: str, review: str, note: str, reviewed_by: str) -> None:
        """The final reader's agreement with the preliminary read (set just before the final signature; the
        revision is unchanged, so it does not race it)."""
        with self._lock, transaction(self.db):
            self.db.execute("UPDATE reports SET review = ?, review_note = ?, reviewed_by = ? WHERE id = ? AND "
                            "state = 'preliminary'", [review, note, reviewed_by, report_id])

    def hash_ok(self, report_id: str) -> bool:
        """True if a signed report's stored hash still matches its stored content."""
        report = self.get(report_id)
        return report.state == ReportState.FINAL and codec.content_hash(report) == report.content_hash

    # ---- header repairs (what was fixed in the source header before writing our objects)
    def record_repairs(self, report_id: str, repairs: Sequence[str]) -> None:
        """Record the source-header repairs of an unsigned report (set just before signing; the revision is
        unchanged, so it does not race the signature)."""
        with self._lock, transaction(self.db):
            self.db.execute("UPDATE reports SET header_repairs = ? WHERE id = ? AND state IN ('draft', 'preliminary')",
                            [json.dumps(list(repairs)), report_id])

    def repairs(self, report_id: str) -> list[str]:
        """The repairs recorded with the report ([] if none)."""
        with self._lock:
            row = self.db.execute("SELECT header_repairs FROM reports WHERE id = ?", [report_id]).fetchone()
        return list(json.loads(row[0] or "[]")) if row else []

    # ---- deleting a study
    def delete_unsigned_for_study(self, study_uid: str) -> tuple[list[str], list[str]]:
        """Delete the study's unsigned reports (drafts, preliminaries, open addenda); signed reports and
        unsigned ones with a recorded critical-result communication (append-only) stay. Returns
        (deleted ids, kept-unsigned ids)."""
        with self._lock, transaction(self.db):
            rows = self.db.execute(
                "SELECT id, EXISTS(SELECT 1 FROM critical_notices n WHERE n.report_id = r.id) FROM reports r "
                "WHERE study_uid = ? AND state != 'final'", [study_uid]).fetchall()
            deleted = [rid for rid, noticed in rows if not noticed]
            for rid in deleted:
                self.db.execute("DELETE FROM reports WHERE id = ?", [rid])
        return deleted, [rid for rid, noticed in rows if noticed]

    def delivered(self, report_id: str) -> bool:
        """True if the report was queued for delivery and every item of it was sent."""
        with self._lock:
            states = [r[0] for r in self.db.execute("SELECT state FROM outbox WHERE report_id = ?", [report_id])]
        return bool(states) and all(s == "sent" for s in states)

    def delivered_at(self, report_id: str) -> str:
        """When the last item of a fully delivered report was sent (ISO text); "" while any is not sent."""
        with self._lock:
            row = self.db.execute("SELECT count(*), sum(state = 'sent'), max(updated_at) FROM outbox "
                                  "WHERE report_id = ?", [report_id]).fetchone()
        return str(row[2] or "") if row[0] and row[0] == row[1] else ""

    def study_uids(self) -> set[str]:
        """Every study with a report row (signed reports outlive their study's images)."""
        with self._lock:
            return {r[0] for r in self.db.execute("SELECT DISTINCT study_uid FROM reports")}

    def has_patient(self, patient_id: str) -> bool:
        """True while a report row names ``patient_id`` (a purge erases a patient only once none does)."""
        with self._lock:
            return self.db.execute("SELECT 1 FROM reports WHERE json_extract(study_json, '$.patient_id') = ? "
                                   "LIMIT 1", [patient_id]).fetchone() is not None

    def purge_signed(self, report_ids: Sequence[str]) -> None:
        """Delete signed reports with their outputs, notices and outbox items (the "delivered" retention rule
        of a deleted study). The immutability triggers are lifted inside this one transaction only."""
        guards = ("reports_final_undeletable", "outputs_undeletable", "notices_undeletable")
        with self._lock, transaction(self.db):
            marks = ", ".join("?" for _ in guards)
            saved = self.db.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
                                    list(guards)).fetchall()
            for name, _ in saved:
                self.db.execute(f"DROP TRIGGER {name}")
            for rid in report_ids:
                for table, column in (("outbox", "report_id"), ("critical_notices", "report_id"),
                                      ("report_outputs", "report_id"), ("reports", "id")):
                    self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", [rid])
            for _, sql in saved:
                self.db.execute(sql)


def _full_sections(sections: Optional[Mapping[str, str]]) -> dict[str, str]:
    given = dict(sections or {})
    unknown = set(given) - set(SECTION_KEYS)
    if unknown:
        raise ReportError(f"unknown sections {sorted(unknown)}")
    return {k: given.get(k, "") for k in SECTION_KEYS}


def _to_notice(row: Mapping[str, Any]) -> CriticalNotice:
    return CriticalNotice(row["recipient"], row["method"], row["communicated_at"], row["recorded_by"],
                          row["note"] or "", row.get("role") or "", bool(row.get("read_back")))


def _to_report(row: Mapping[str, Any], notices: list[CriticalNotice]) -> Report:
    return Report(
        id=row["id"], study=codec.study_from_json(row["study_json"]), kind=ReportKind(row["kind"]),
        state=ReportState(row["state"]), sections=json.loads(row["sections_json"]),
        template_id=row["template_id"] or "", predecessor_id=row["predecessor_id"] or "",
        addendum_note=row["addendum_note"] or "", measurements=codec.measurements_from_json(row["measurements_json"]),
        key_images=codec.key_images_from_json(row["key_images_json"]), critical=bool(row["critical"]),
        critical_text=row["critical_text"] or "", created_at=row["created_at"], updated_at=row["updated_at"],
        signed_at=row["signed_at"] or "", signer_name=row["signer_name"] or "",
        content_hash=row["content_hash"] or "", revision=row["revision"], notices=tuple(notices),
        **{k: row.get(k) or "" for k in ("preliminary_signer", "preliminary_signed_at", "review", "review_note",
                                          "reviewed_by")},
    )
