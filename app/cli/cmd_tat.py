"""`telerad [--group URL] tat [--since H] [--near M] [--json | --csv [FILE]]`: the turnaround dashboard
(app.workstation.tat): per facility and priority the contract target, what waits (queued, being read, near
breach, breached), the studies read in the last H hours (met, late, median and 90th-percentile TAT in
minutes); then the same studies by reader and status. Without --group, this reader's own worklist.
``--csv``: both tables in one CSV file (a blank line between them), or on stdout without FILE."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any, Sequence

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=float, default=24.0, metavar="H", help="reads of the last H hours (24)")
    parser.add_argument("--near", type=float, default=30.0, metavar="M",
                        help="near breach when the deadline is within M minutes (30)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", nargs="?", const="-", metavar="FILE", help="both tables as CSV (stdout without FILE)")


def execute(args: argparse.Namespace) -> int:
    from app.workstation.tat import READER_COLUMNS, TAT_COLUMNS, dashboard, write_csv

    if args.since <= 0 or args.near < 0:
        print("telerad tat: --since must be positive and --near not negative", file=sys.stderr)
        return 2
    with workstation(args) as ws:
        board = dashboard(ws, since_hours=args.since, near_minutes=args.near)
    if args.json:
        print(json.dumps(board.to_json(), indent=2))
    elif args.csv == "-":
        write_csv(board, sys.stdout)
    elif args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            write_csv(board, out)
        print(f"{args.csv}: {len(board.rows)} facility rows, {len(board.readers)} reader rows")
    else:
        print(f"Turnaround ({board.source}), reads of the last {board.since_hours:g} h:")
        _table(TAT_COLUMNS, [asdict(r) for r in board.rows])
        print()
        _table(READER_COLUMNS, [{**asdict(r), "reader": r.reader or "(queue)"} for r in board.readers])
    return 0


def _table(columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    cells = [["-" if r[c] is None else f"{r[c]:g}" if isinstance(r[c], float) else str(r[c]) for c in columns]
             for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
