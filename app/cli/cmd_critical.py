"""`telerad critical [--since H] [--json]`: the night's critical results (open loops first) with the time from
image arrival (the cache's first-received time) to the communication, who was told, how, and read-back."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from app.cli.context import workstation

if TYPE_CHECKING:
    from app.reporting.critical import CriticalResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="H", type=float, default=12.0,
                        help="critical results of the last H hours (default 12)")
    parser.add_argument("--json", action="store_true", help="one JSON array")


def execute(args: argparse.Namespace) -> int:
    if not args.since > 0:
        print("telerad critical: --since must be a positive number of hours", file=sys.stderr)
        return 2
    with workstation(args) as ws:
        rows = [result_dict(r) for r in ws.critical_results(args.since)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        print(f"no critical results in the last {args.since:g} h")
    else:
        for row in rows:
            print(_line(row))
    return 0


def result_dict(r: "CriticalResult") -> dict[str, Any]:
    """The documented JSON form of one critical result."""
    n = r.notice
    return {"report_id": r.report_id, "study_instance_uid": r.study_uid, "accession": r.accession,
            "finding": r.finding, "report_state": r.state, "arrival": r.arrival, "signed_at": r.signed_at,
            "communicated": r.communicated, "communicated_at": n.communicated_at if n else "",
            "communicated_to": n.recipient if n else "", "role": n.role if n else "", "via": n.method if n else "",
            "read_back": n.read_back if n else False, "recorded_by": n.recorded_by if n else "",
            "minutes_to_communication": r.minutes_to_communication}


def _line(row: dict[str, Any]) -> str:
    minutes = row["minutes_to_communication"]
    took = f"{minutes:g} min from arrival" if minutes is not None else "time unknown"
    if row["communicated"]:
        role = f" ({row['role']})" if row["role"] else ""
        back = ", read back" if row["read_back"] else ", not read back"
        told = f"told {row['communicated_to']}{role} by {row['via']} at {row['communicated_at']}{back}; {took}"
    else:
        told = "NOT COMMUNICATED YET"
    return f"{row['accession'] or '-':<14} {row['report_state']:<11} {row['finding'][:40]:<40} {told}  " \
           f"{row['study_instance_uid']}"
