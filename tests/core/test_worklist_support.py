"""Shared helpers for the worklist tests (no tests here): a fake clock, in-memory studies, a fake cache."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from app.store import StudySummary

T0 = datetime(2025, 3, 1, 22, 0, tzinfo=timezone.utc)


class FakeClock:
    """Injected clock: call it for 'now', ``advance`` to move time."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def study(uid: str, *, received: datetime = T0, **kw: Any) -> StudySummary:
    """A StudySummary with plausible defaults."""
    base = StudySummary(
        study_instance_uid=uid, patient_id=kw.pop("patient_id", f"P-{uid}"), patient_name="DOE^J",
        issuer_of_patient_id="", patient_birth_date="19700101", patient_sex="F", study_date="20250301",
        study_time="210000", description="CT HEAD", accession=f"A{uid}", modalities=("CT",), num_series=1,
        num_instances=10, body_part="HEAD", institution="NORTH", referring_physician="", source_node=None,
        received=received.isoformat(), flags=(),
    )
    return replace(base, **kw)


class FakeCache:
    """Only what the worklist reads: list_studies; no instances, so no header to read."""

    def __init__(self, studies: list[StudySummary]) -> None:
        self.studies = list(studies)

    def list_studies(self) -> list[StudySummary]:
        return list(self.studies)

    def list_series(self, study_uid: str) -> list[Any]:
        return []

    def delete_study(self, study_uid: str) -> bool:
        before = len(self.studies)
        self.studies = [s for s in self.studies if s.study_instance_uid != study_uid]
        return len(self.studies) < before
