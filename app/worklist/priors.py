"""Prior studies of the same patient, ranked by relevance (same modality and body part, then recency)."""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any, Iterable, Sequence


def site_of(study: Any) -> str:
    """Originating site: the sending node, else the institution, else 'local'."""
    return (getattr(study, "source_node", None) or getattr(study, "institution", "") or "local").strip()


def patient_key(study: Any) -> tuple[str, str]:
    """(Patient ID, issuer); without an issuer IDs are only unique per site, so the site stands in."""
    issuer = (getattr(study, "issuer_of_patient_id", "") or "").strip()
    return (getattr(study, "patient_id", "") or "").strip(), issuer or sys.intern(f"site:{site_of(study)}")


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


_STATE = ("", "state")  # the memo's entry (no patient has this key): (uid -> (summary, patient key), last result)


def priors_index(studies: Sequence[Any], memo: dict[Any, Any] | None = None) -> dict[str, tuple[str, ...]]:
    """Ranked prior study UIDs for every study (grouping by patient key: linear in the study count).
    ``memo`` (kept by the caller between calls) makes a later call proportional to what changed: only the
    patients of studies new, changed (not the same summary object) or gone since are ranked again."""
    known, last = memo.get(_STATE, ({}, None)) if memo is not None else ({}, None)
    keys, touched = [], set()
    for s in studies:
        seen = known.get(s.study_instance_uid)
        if seen is not None and seen[0] is s:
            keys.append(seen[1])
            continue
        k = patient_key(s)
        keys.append(k)
        touched.add(k)
        if seen is not None:
            touched.add(seen[1])
        known[s.study_instance_uid] = (s, k)
    gone: set[str] = set()
    if len(known) != len(studies):  # studies left the list: their patients' priors change too
        gone = known.keys() - {s.study_instance_uid for s in studies}
        touched.update(known.pop(uid)[1] for uid in gone)
    if last is None or len(touched) > len(studies) // 4:
        out = _full(studies, keys)
    else:
        out = dict(last)
        for uid in gone:
            out.pop(uid, None)
        _rank_into(out, studies, keys, touched)
    if memo is not None:
        memo.clear()
        memo[_STATE] = (known, out)
    return out


def _full(studies: Sequence[Any], keys: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = dict.fromkeys((s.study_instance_uid for s in studies), ())
    _rank_into(out, studies, keys, None)
    return out


def _rank_into(out: dict[str, tuple[str, ...]], studies: Sequence[Any], keys: list[tuple[str, str]],
               only: set[tuple[str, str]] | None) -> None:
    """Set the ranked priors in ``out`` of every study whose patient key is in ``only`` (None: all)."""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s, k in zip(studies, keys):
        if only is None or k in only:
            if k[0]:
                groups[k].append(s)
            else:
                out[s.study_instance_uid] = ()
    for group in groups.values():
        if len(group) < 2:
            out[group[0].study_instance_uid] = ()
        elif len(group) == 2 and group[0].study_instance_uid != group[1].study_instance_uid:
            a, b = group[0].study_instance_uid, group[1].study_instance_uid  # each is the other's only prior
            out[a], out[b] = (b,), (a,)
        else:
            out.update({s.study_instance_uid: tuple(p.study_instance_uid for p in _ranked(s, group))
                        for s in group})
