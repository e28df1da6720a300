"""What an import did: counts, reasons, and a human-readable report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.store.models import StoreResult
from app.tasks import Cancelled


@dataclass
class ImportSummary:
    """Counts per outcome; ``seen`` == imported + duplicates + quarantined + skipped + rejected."""

    seen: int = 0
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: int = 0
    rejected: int = 0
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    quarantined_files: list[tuple[str, str]] = field(default_factory=list)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    studies: Counter[str] = field(default_factory=Counter)  # study UID -> instances imported
    study_patients: dict[str, str] = field(default_factory=dict, repr=False)  # for audit hashing
    cancelled: bool = False
    seconds: float = 0.0

    def add(self, label: str, result: StoreResult) -> None:
        """Account for one input."""
        self.seen += 1
        if result.status == "imported":
            self.imported += 1
            if result.study_instance_uid:
                self.studies[result.study_instance_uid] += 1
                self.study_patients[result.study_instance_uid] = result.patient_id or ""
        elif result.status == "duplicate":
            self.duplicates += 1
        elif result.status == "quarantined":
            self.quarantined += 1
            self.quarantined_files.append((label, result.reason or "quarantined"))
        elif result.skip:
            self.skipped += 1
            self.skipped_files.append((label, result.reason or "not an instance"))
        else:
            self.rejected += 1
            self.rejected_files.append((label, result.reason or "rejected"))

    def refuse(self, label: str, reason: str) -> None:
        """Account for an input refused before it was read."""
        self.add(label, StoreResult("rejected", reason))

    @property
    def accounted(self) -> int:
        """Sum of the outcome counts (equals ``seen``)."""
        return self.imported + self.duplicates + self.quarantined + self.skipped + self.rejected

    def format(self) -> str:
        """Human summary: totals, then one line per rejected and quarantined input."""
        head = (
            f"{'Import cancelled' if self.cancelled else 'Import finished'}: {self.seen} files in "
            f"{self.seconds:.1f} s - {self.imported} imported, {self.duplicates} duplicates, "
            f"{self.quarantined} quarantined, {self.skipped} skipped, {self.rejected} rejected; "
            f"{len(self.studies)} studies received instances."
        )
        lines = [head]
        for title, entries in (("Rejected", self.rejected_files), ("Quarantined", self.quarantined_files)):
            if entries:
                lines.append(f"{title}:")
                lines.extend(f"  {label}: {reason}" for label, reason in entries)
        return "\n".join(lines)


class ImportCancelled(Cancelled):
    """Raised by :func:`import_paths` when cancelled; ``summary`` holds what was done."""

    def __init__(self, summary: ImportSummary) -> None:
        super().__init__("import cancelled")
        self.summary = summary
