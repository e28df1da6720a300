"""`telerad --group URL tat [--since H] [--near M] [--json]`: the group's turnaround dashboard per facility and
priority (queued, being read, near breach, breached; read in the last H hours: met, late). Without --group,
this reader's own worklist, counted the same way."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from app.cli.context import workstation

COLUMNS = ("facility", "priority", "queued", "reading", "near_breach", "breached", "met", "late")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=float, default=24.0, metavar="H", help="reads of the last H hours (24)")
    parser.add_argument("--near", type=float, default=30.0, metavar="M",
                        help="group: near breach when due within M minutes (30)")
    parser.add_argument("--json", action="store_true")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        if args.group:
            from app.group.tat import tat_rows
            from app.workstation.group import require

            rows = [asdict(r) for r in tat_rows(require(ws).db, since_hours=args.since, near_minutes=args.near)]
        else:
            rows = _local(ws.worklist_entries(), args.since)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) if rows else len(c) for c in COLUMNS]
    print("  ".join(c.upper().ljust(w) for c, w in zip(COLUMNS, widths)))
    for r in rows:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(COLUMNS, widths)))
    return 0


def _local(entries: list[Any], since_hours: float) -> list[dict[str, Any]]:
    """The same counts from this reader's worklist entries (their TAT states; site as the facility)."""
    from datetime import timedelta

    from app.worklist import TatState, utc_now

    now, counts = utc_now(), {}
    for e in entries:
        if e.reference:
            continue
        row = counts.setdefault((e.site, e.priority), dict.fromkeys(COLUMNS[2:], 0))
        state = e.tat_state(now)
        if e.status.active:
            row["reading" if e.claimed_by else "queued"] += 1
            row["near_breach"] += state is TatState.NEAR
            row["breached"] += state is TatState.BREACHED
        elif e.reported_at is not None and e.reported_at >= now - timedelta(hours=since_hours):
            row["met"] += state is TatState.MET
            row["late"] += state is TatState.LATE
    return [{"facility": site, "priority": p.value, **c}
            for (site, p), c in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1].rank))]
