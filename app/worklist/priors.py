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


_STATE = ("", "state")  # the memo's entry (no patient has this key): (last studies, uid -> patient key, last result)


def priors_index(studies: Sequence[Any], memo: dict[Any, Any] | None = None) -> dict[str, tuple[str, ...]]:
    """Ranked prior study UIDs for every study (grouping by patient key: linear in the study count).
    ``memo`` (kept by the caller between calls) makes a later call proportional to what changed: only the
    patients of studies new, changed (not the same summary object) or gone since are ranked again."""
    last_studies, known, last = memo.get(_STATE, ((), {}, None)) if memo is not None else ((), {}, None)
    if len(known) != len(last_studies):  # the last studies had a UID twice: their keys cannot be told apart
        last_studies, known, last = (), {}, None
    share: dict[tuple[str, str], tuple[str, str]] = {}  # one key tuple per patient
    if last is None:  # nothing to reuse: every study's key, every patient ranked
        keys = [share.setdefault(k, k) for k in map(patient_key, studies)]
        known = dict(zip((s.study_instance_uid for s in studies), keys))
        out = _full(studies, keys)
        if memo is not None:
            memo.clear()
            memo[_STATE] = (list(studies) if len(known) == len(studies) else [], known, out)
        return out
    before = set(map(id, last_studies))  # the summaries of the last call (alive: last_studies holds them)
    keys, touched = [], set()
    for s in studies:
        uid = s.study_instance_uid
        if id(s) in before:  # the same summary as last time: the same key
            k = known[uid]
        else:
            k = patient_key(s)
            k = share.setdefault(k, k)
            touched.add(k)
            seen = known.get(uid)
            if seen is not None:
                touched.add(seen)
            known[uid] = k
        keys.append(k)
    gone: set[str] = set()
    if len(known) != len(studies):
        uids = {s.study_instance_uid for s in studies}
        if len(uids) != len(studies):  # a UID twice in this call: keys by UID are ambiguous, start afresh
            keys, known, last = [patient_key(s) for s in studies], {}, None
            known.update(zip((s.study_instance_uid for s in studies), keys))
        gone = known.keys() - uids  # studies left the list: their patients' priors change too
        touched.update(known.pop(uid) for uid in gone)
    if last is None or len(touched) > len(studies) // 4:
        out = _full(studies, keys)
    else:
        out = dict(last)
        for uid in gone:
            out.pop(uid, None)
        _rank_into(out, studies, keys, touched)
    if memo is not None:
        memo.clear()
        memo[_STATE] = (list(studies), known, out)
    return out


def _full(studies: Sequence[Any], keys: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = dict.fromkeys((s.study_instance_uid for s in studies), ())
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s, k in zip(studies, keys):
        groups[k].append(s)
    for k, group in groups.items():
        if len(group) > 1 and k[0]:  # the others have no prior
            _rank_group(out, group)
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
        else:
            _rank_group(out, group)


def _rank_group(out: dict[str, tuple[str, ...]], group: list[Any]) -> None:
    """Set the ranked priors of each of one patient's studies (two or more) in ``out``."""
    if len(group) == 2 and group[0].study_instance_uid != group[1].study_instance_uid:
        a, b = group[0].study_instance_uid, group[1].study_instance_uid  # each is the other's only prior
        out[a], out[b] = (b,), (a,)
    else:
        out.update({s.study_instance_uid: tuple(p.study_instance_uid for p in _ranked(s, group)) for s in group})
