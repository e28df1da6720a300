"""`telerad worklist [--json]`: the reading worklist in reading order, with priority, clock, status and report
flags; `telerad worklist open UID` claims a study for reading (as opening it in the window does),
`telerad worklist release UID` gives it back."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from app.cli.context import workstation

if TYPE_CHECKING:
    from datetime import datetime

    from app.worklist import WorklistEntry
    from app.workstation import Workstation

COLUMNS = ("priority", "clock", "tat", "status", "flags", "ai", "subspecialty", "modalities", "site", "description",
           "reason")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of worklist entries")
    parser.add_argument("--to-read", action="store_true",
                        help="only studies still to read (leave out reported and reference-only ones)")
    parser.add_argument("action", nargs="?", choices=("open", "release", "next", "handover"),
                        help="open: claim STUDY_UID for reading (audited access); release: give the claim back; "
                        "with --group: next claims the next case (exit 3: none left, 4: workload cap reached), "
                        "handover STUDY_UID --to NAME passes a claim to a colleague")
    parser.add_argument("--to", metavar="NAME", help="handover: the colleague who takes the claim")
    parser.add_argument("study_uid", nargs="?", metavar="STUDY_UID")


def execute(args: argparse.Namespace) -> int:
    from app.worklist import utc_now

    if args.action in ("next", "handover") or (args.action == "release" and args.group):
        from app.cli.cmd_worklist_group import execute_group

        return execute_group(args)
    if args.action and not args.study_uid:
        print(f"telerad worklist {args.action}: STUDY_UID is required", file=sys.stderr)
        return 2
    with workstation(args) as ws:
        if args.action:
            return _act(ws, args)
        entries = ws.worklist_entries()
        now = utc_now()
        near = ws.worklist.config.near_breach_fraction
        rows = [entry_dict(e, now, near) for e in entries if e.to_read or not args.to_read]
        awaiting = [] if args.json else [order for order, _ in ws.order_list(awaiting_only=True)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print_table(rows)
        for order in awaiting:  # ordered by the RIS, no images yet
            procedure = order.procedure_text or order.procedure_code
            print(f"{order.priority.value:<8} awaiting images  {procedure[:30]:<30} accession {order.accession}"
                  + (f"  reason: {order.reason[:60]}" if order.reason else ""))
    return 0


def _act(ws: "Workstation", args: argparse.Namespace) -> int:
    from app.worklist import utc_now

    if args.action == "open":
        session = ws.open_for_reading(args.study_uid)
        entry = session.entry
        if not session.claimed:
            print(f"telerad worklist open: opened without a claim ({session.note})", file=sys.stderr)
    else:
        entry = ws.release(args.study_uid)
    if entry is not None:
        row = entry_dict(entry, utc_now(), ws.worklist.config.near_breach_fraction)
        print(json.dumps(row, indent=2, ensure_ascii=False) if args.json else
              f"{row['status']}  claimed by {row['claimed_by'] or 'nobody'}  {row['study_instance_uid']}")
    return 0


def entry_dict(e: "WorklistEntry", now: "datetime", near_fraction: float = 0.25) -> dict[str, Any]:
    """The documented JSON form of one entry."""
    from app.worklist import format_clock
    from app.worklist.build import iso

    return {
        "study_instance_uid": e.study_instance_uid, "priority": e.priority.value,
        "priority_source": e.priority_source, "status": e.status.value, "subspecialty": e.subspecialty,
        "received": iso(e.arrival), "due": iso(e.due), "reported_at": iso(e.reported_at),
        "clock": format_clock(e.remaining(now)), "seconds_to_breach": int(e.remaining(now).total_seconds()),
        "tat": e.tat_state(now, near_fraction).value, "claimed_by": e.claimed_by, "site": e.site,
        "local": e.local, "reference": e.reference, "patient_id": e.patient_id, "patient_name": e.patient_name,
        "study_date": e.study_date, "modalities": list(e.modalities), "body_part": e.body_part,
        "description": e.description, "accession": e.accession, "priors": list(e.priors),
        "report_status": e.report.status, "flags": list(e.report.flags), "critical": e.report.critical,
        "critical_text": e.report.critical_text, "delivery": e.report.delivery,
        "order_priority": e.order.priority, "reason": e.order.reason, "clinical_history": e.order.history,
        "ordering_physician": e.order.ordering_physician, "callback": e.order.callback,
        "ai": e.ai.text, "ai_findings": [{"finding": f.key, "label": f.label, "text": f.text, "critical": f.critical,
                                          "decision": f.decision, "decided_by": f.decided_by} for f in e.ai.findings],
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    """One entry per line in reading order, then the study UID."""
    if not rows:
        print("nothing to read")
        return
    cells = [["/".join(r[c]) if isinstance(r[c], list) else str(r[c] or "") for c in COLUMNS] for r in rows]
    widths = [min(30, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(COLUMNS, widths)) + "  STUDY UID")
    for row, r in zip(cells, rows):
        print("  ".join(v[:w].ljust(w) for v, w in zip(row, widths)) + "  " + r["study_instance_uid"])
