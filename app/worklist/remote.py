"""Remote study results (C-FIND/QIDO) normalised to the cache's :class:`StudySummary` shape."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Iterable

from app.store import StudySummary

# A source of remote results: called on every refresh, returns study-like objects or dicts.
RemoteSource = Callable[[], Iterable[Any]]

_DEFAULTS: dict[str, Any] = {"modalities": (), "num_series": 0, "num_instances": 0, "source_node": None,
                             "flags": ()}


def as_summary(obj: Any, node: str | None = None) -> StudySummary:
    """A StudySummary from an object or dict with the same field names (missing text fields are '')."""
    def get(name: str) -> Any:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        return _DEFAULTS.get(name, "") if value is None else value

    values = {f.name: get(f.name) for f in fields(StudySummary)}
    if not values["study_instance_uid"]:
        raise ValueError("remote result without a Study Instance UID")
    mods = values["modalities"]
    values["modalities"] = tuple(m for m in (mods.split("\\") if isinstance(mods, str) else mods) if m)
    values["flags"] = tuple(values["flags"])
    values["num_series"] = int(values["num_series"] or 0)
    values["num_instances"] = int(values["num_instances"] or 0)
    if node and not values["source_node"]:
        values["source_node"] = node
    return StudySummary(**values)


def collect(results: Iterable[Any] | None) -> list[StudySummary]:
    """Normalise an iterable of remote results; unusable ones are dropped."""
    out: list[StudySummary] = []
    for obj in results or ():
        try:
            out.append(as_summary(obj))
        except (ValueError, TypeError):
            continue
    return out
