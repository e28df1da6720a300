"""`telerad ai STUDY_UID [--json]`: the study's AI findings (from SR / SEG results) with the radiologist's
decisions, and the AI objects that could not be read; `--accept KEY` / `--reject KEY` (ich, lvo, pe, or the
finding's label) records the decision (audited, written into the open report's findings)."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study_uid", metavar="STUDY_UID")
    decide = parser.add_mutually_exclusive_group()
    decide.add_argument("--accept", metavar="KEY", help="accept the AI finding KEY (ich, lvo, pe...)")
    decide.add_argument("--reject", metavar="KEY", help="reject the AI finding KEY")
    decide.add_argument("--undecide", metavar="KEY", help="take the decision on KEY back (pending)")
    parser.add_argument("--json", action="store_true")


def execute(args: argparse.Namespace) -> int:
    from app.workstation.workstation import WorkstationError

    with workstation(args) as ws:
        ws.scan_ai_results([args.study_uid])
        for decision, key in (("accepted", args.accept), ("rejected", args.reject), ("pending", args.undecide)):
            if key:
                try:
                    ws.decide_ai_finding(args.study_uid, key, decision)
                except WorkstationError as exc:
                    print(f"telerad ai: {exc}", file=sys.stderr)
                    return 2
        views = ws.ai_findings(args.study_uid)
        problems = ws.ai_warnings(args.study_uid)
    rows = [{"finding": v.key, "label": v.finding.label, "name": v.finding.name, "meaning": v.finding.meaning,
             "code": f"{v.finding.scheme} {v.finding.value}".strip(), "critical": v.finding.critical,
             "received": v.received, "decision": v.decision, "decided_by": v.decided_by,
             "decided_at": v.decided_at, "report_line": v.report_line} for v in views]
    if args.json:
        print(json.dumps({"findings": rows, "warnings": [str(w) for w in problems]}, indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r['finding']:6} {r['name']:28} {r['decision']}" + (f" by {r['decided_by']}" if r["decided_by"] else ""))
    for w in problems:
        print(f"warning: {w}")
    if not rows and not problems:
        print("no AI findings")
    return 0
