"""Viewport layouts and the priors of a study.

Studies are hung by the rule-based protocols of :mod:`app.hanging`, applied by ``app.viewer.hang``
(the window through ``hanging_view``, ``telerad screenshot`` headless).
"""

from __future__ import annotations

from typing import Any

from app.hanging.rules import parse_layout  # noqa: F401 (re-exported: the viewer's callers use it from here)

LAYOUTS = ("1x1", "1x2", "2x1", "2x2", "2x3", "3x3")
GAP = 2  # pixels between viewports (on screen and in headless renders)


def find_priors(cache: Any, study_uid: str) -> list[Any]:
    """Other studies of the same patient (same ID and issuer), most recent first."""
    current = cache.get_study(study_uid)
    if current is None or not current.patient_id:
        return []
    others = [s for s in cache.list_studies()
              if s.study_instance_uid != study_uid and s.patient_id == current.patient_id
              and s.issuer_of_patient_id == current.issuer_of_patient_id]
    return sorted(others, key=lambda s: (s.study_date or "", s.study_time or ""), reverse=True)
