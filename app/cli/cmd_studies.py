"""`telerad studies [--json]`: list the studies in the local cache."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import TYPE_CHECKING, Any, Iterable, TextIO

from app.cli.context import workstation

if TYPE_CHECKING:
    from app.store import StudySummary

COLUMNS = ("study_date", "patient_name", "patient_id", "modalities", "series", "instances", "description")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of study objects")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        texts = ws.cache.study_json() if args.json else None
        rows = ws.cache.study_rows() if texts is None else []
    if texts is not None:
        write_texts(texts, sys.stdout)
    elif args.json:
        write_json(rows, sys.stdout)
    else:
        print_table([_dict(r) for r in rows])
    return 0


@functools.lru_cache(maxsize=1)
def _layout() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(JSON keys, index of each key's value in a summary's field values): counts last, renamed."""
    from app.store.queries import STUDY_FIELDS

    order = [i for i, n in enumerate(STUDY_FIELDS) if n not in ("num_series", "num_instances")]
    order += [STUDY_FIELDS.index("num_series"), STUDY_FIELDS.index("num_instances")]
    renamed = {"num_series": "series", "num_instances": "instances"}
    return tuple(renamed.get(STUDY_FIELDS[i], STUDY_FIELDS[i]) for i in order), tuple(order)


def _dict(values: tuple[Any, ...]) -> dict[str, Any]:
    """The documented JSON form of one study (field values of its summary): every summary field, counts
    as ``series``/``instances`` (last), modalities and flags as lists."""
    names, order = _layout()
    out = dict(zip(names, map(values.__getitem__, order)))
    out["modalities"], out["flags"] = list(out["modalities"]), list(out["flags"])
    return out


def study_dict(summary: "StudySummary") -> dict[str, Any]:
    """The JSON form of one study summary (as ``telerad studies --json`` prints it)."""
    from dataclasses import fields

    return _dict(tuple(getattr(summary, f.name) for f in fields(summary)))


def write_json(rows: Iterable[tuple[Any, ...]], out: TextIO) -> None:
    """A JSON list, one study object per line, written as it is encoded (C encoder, no indent pass)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    write_texts((encode(_dict(values)) for values in rows), out)


def write_texts(objects: Iterable[str], out: TextIO) -> None:
    """A JSON list of already encoded objects, one per line."""
    out.write("[")
    sep = "\n"
    for text in objects:
        out.write(sep + text)
        sep = ",\n"
    out.write("\n]\n" if sep != "\n" else "]\n")


def print_table(rows: list[dict[str, Any]]) -> None:
    """A plain aligned table, one study per line, then the study UID."""
    if not rows:
        print("no studies in the cache")
        return
    cells = [[str(r.get(c) if not isinstance(r.get(c), list) else "/".join(r[c])) for c in COLUMNS] for r in rows]
    widths = [min(30, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(COLUMNS, widths)) + "  STUDY UID")
    for row, r in zip(cells, rows):
        print("  ".join(v[:w].ljust(w) for v, w in zip(row, widths)) + "  " + r["study_instance_uid"])
