"""`telerad --group URL worklist next|release|handover`: the shared worklist's claims (app.workstation.group)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.cli.context import workstation

NONE_LEFT, CAP_REACHED = 3, 4


def execute_group(args: argparse.Namespace) -> int:
    from app.workstation import group

    command = f"telerad worklist {args.action}"
    if not args.group:
        print(f"{command}: needs --group postgresql://... (or TELERAD_GROUP)", file=sys.stderr)
        return 2
    if args.action != "next" and not args.study_uid:
        print(f"{command}: STUDY_UID is required", file=sys.stderr)
        return 2
    if args.action == "handover" and not args.to:
        print(f"{command}: --to NAME is required", file=sys.stderr)
        return 2
    with workstation(args) as ws:
        if args.action == "next":
            result = group.next_case(ws)
            if result.claim is None:
                why = "workload cap reached" if result.reason == "cap" else "no study left that you may read"
                print(f"{command}: {why}", file=sys.stderr)
                return CAP_REACHED if result.reason == "cap" else NONE_LEFT
            claim = result.claim
        elif args.action == "release":
            claim = group.release(ws, args.study_uid)
        else:
            claim = group.handover(ws, args.study_uid, args.to)
    row = claim_dict(claim, released=args.action == "release")
    print(json.dumps(row, indent=2) if args.json else
          f"{row['priority']:<8} due {row['due']}  {row['status']} {row['claimed_by'] or ''}  {row['study_instance_uid']}")
    return 0


def claim_dict(claim: Any, *, released: bool = False) -> dict[str, Any]:
    from app.worklist.build import iso

    return {"study_instance_uid": claim.study_uid, "facility": claim.facility, "priority": claim.priority,
            "due": iso(claim.due), "status": "released" if released else "claimed",
            "claimed_by": None if released else claim.reader,
            "lease_until": None if released else iso(claim.lease_until)}
