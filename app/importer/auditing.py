"""Audit records for an import run: one DICOM Import (110107) event per study and one per run."""

from __future__ import annotations

from app.audit import AuditLog, events
from app.importer.summary import ImportSummary


def record_import(audit: AuditLog, summary: ImportSummary, *, user: str | None, source_node: str | None) -> None:
    """Write the per-study events, then the run event with the counts."""
    for study_uid, count in sorted(summary.studies.items()):
        audit.record(
            events.IMPORT, action=events.ACTION_CREATE, outcome=events.OUTCOME_SUCCESS, user=user,
            study_uid=study_uid, patient_id=summary.study_patients.get(study_uid),
            detail={"instances_imported": count, "source_node": source_node},
        )
    failed = summary.rejected + summary.quarantined
    if summary.cancelled:
        outcome = events.OUTCOME_MINOR_FAILURE
    elif failed and not summary.imported and not summary.duplicates:
        outcome = events.OUTCOME_SERIOUS_FAILURE
    else:
        outcome = events.OUTCOME_MINOR_FAILURE if failed else events.OUTCOME_SUCCESS
    audit.record(
        events.IMPORT, action=events.ACTION_CREATE, outcome=outcome, user=user,
        detail={
            "files_seen": summary.seen, "imported": summary.imported, "duplicates": summary.duplicates,
            "quarantined": summary.quarantined, "skipped": summary.skipped, "rejected": summary.rejected,
            "studies": len(summary.studies), "cancelled": summary.cancelled, "source_node": source_node,
        },
    )
