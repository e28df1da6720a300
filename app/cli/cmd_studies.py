"""`telerad studies [--json]`: list the studies in the local cache."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from app.cli.context import workstation

if TYPE_CHECKING:
    from app.store import StudySummary

COLUMNS = ("study_date", "patient_name", "patient_id", "modalities", "series", "instances", "description")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of study objects")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        rows = [study_dict(s) for s in ws.cache.list_studies()]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print_table(rows)
    return 0


def study_dict(summary: "StudySummary") -> dict[str, Any]:
    """The documented JSON form of one study: every summary field, counts as ``series``/``instances``."""
    from dataclasses import fields

    out = {f.name: getattr(summary, f.name) for f in fields(summary)}  # flat: no asdict deep copy
    out["series"] = out.pop("num_series")
    out["instances"] = out.pop("num_instances")
    out["modalities"] = list(summary.modalities)
    out["flags"] = list(summary.flags)
    return out


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
