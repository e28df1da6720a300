"""Prior studies of the same patient, ranked by relevance (same modality and body part, then recency)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Sequence


def site_of(study: Any) -> str:
    """Originating site: the sending node, else the institution, else 'local'."""
    return (getattr(study, "source_node", None) or getattr(study, "institution", "") or "local").strip()


def patient_key(study: Any) -> tuple[str, str]:
    """(Patient ID, issuer); without an issuer IDs are only unique per site, so the site stands in."""
    issuer = (getattr(study, "issuer_of_patient_id", "") or "").strip()
    return (getattr(study, "patient_id", "") or "").strip(), issuer or f"site:{site_of(study)}"


def _when(study: Any) -> str:
    return f"{getattr(study, 'study_date', '') or ''}{(getattr(study, 'study_time', '') or '').ljust(13, '0')}"


def relevance(current: Any, prior: Any) -> int:
    """2: same modality and body part; 1: one of them; 0: neither."""
    same_modality = bool(set(current.modalities) & set(prior.modalities))
    part_a, part_b = (current.body_part or "").upper(), (prior.body_part or "").upper()
    same_part = bool(part_a) and part_a == part_b
    return int(same_modality) + int(same_part)


def rank_priors(current: Any, candidates: Iterable[Any]) -> list[Any]:
    """Other studies of ``current``'s patient: most relevant first; then earlier-than-current before
    later ones, each most recent first."""
    key = patient_key(current)
    if not key[0]:
        return []
    return _ranked(current, [c for c in candidates if patient_key(c) == key])


def _ranked(current: Any, same_patient: Sequence[Any]) -> list[Any]:
    """``rank_priors`` over studies already known to be of ``current``'s patient."""
    now = _when(current)
    others = [c for c in same_patient if c.study_instance_uid != current.study_instance_uid]
    by_time = sorted(others, key=_when, reverse=True)  # stable sorts: recency is the last tie-breaker
    by_time.sort(key=lambda c: _when(c) > now)
    by_time.sort(key=lambda c: relevance(current, c), reverse=True)
    return by_time


def priors_index(studies: Sequence[Any], memo: dict[Any, Any] | None = None) -> dict[str, tuple[str, ...]]:
    """Ranked prior study UIDs for every study (grouping by patient key, computed once per study: linear
    in the study count). ``memo`` (kept by the caller between calls) reuses the ranking of every patient
    whose studies are the same objects as last time."""
    keys = [patient_key(s) for s in studies]
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s, k in zip(studies, keys):
        if k[0]:
            groups[k].append(s)
    out: dict[str, tuple[str, ...]] = dict.fromkeys((s.study_instance_uid for s in studies), ())
    fresh: dict[Any, Any] = {}
    for k, group in groups.items():
        if len(group) < 2:
            continue
        last = memo.get(k) if memo is not None else None
        members = tuple(group)
        if last is not None and last[0] == members:  # the same study objects (or equal ones): same ranking
            ranked = last[1]
        else:
            ranked = {s.study_instance_uid: tuple(p.study_instance_uid for p in _ranked(s, group)) for s in group}
        fresh[k] = (members, ranked)
        out.update(ranked)
    if memo is not None:
        memo.clear()
        memo.update(fresh)
    return out
