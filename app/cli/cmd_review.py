"""`telerad --group URL --reader NAME review next [--json]` (exit 3: nothing to review), `review score
REPORT_ID 2a [--note TEXT]`, `review summary [--csv|--json]`, `review rule [--fraction F] [--seed S]`: peer
review of a sample of colleagues' final reports, RADPEER scores (app.workstation.group)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from typing import Any

from app.cli.context import workstation

NONE_LEFT = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="review_action", metavar="ACTION", required=True)
    nxt = subs.add_parser("next", help="the next sampled colleague report to review (exit 3: none)")
    nxt.add_argument("--json", action="store_true")
    score = subs.add_parser("score", help="score a report offered to you: 1, 2a, 2b, 3a, 3b (RADPEER)")
    score.add_argument("report_id")
    score.add_argument("score", help="1 concur; 2/3 discrepancy not expected / expected to be made; "
                       "a/b unlikely / likely clinically significant")
    score.add_argument("--note", default="", help="what the discrepancy is")
    summary = subs.add_parser("summary", help="per reader: sampled, reviewed, %% concordant, counts per score")
    fmt = summary.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--json", action="store_true")
    rule = subs.add_parser("rule", help="show or change the group's sampling rule")
    rule.add_argument("--fraction", type=float, help="share of each reader's final reports sampled (0.03 = 3 %%)")
    rule.add_argument("--seed", help="the sample's seed (the same seed: the same sample)")


def execute(args: argparse.Namespace) -> int:
    from app.workstation import group

    if not args.group:
        print(f"telerad review {args.review_action}: needs --group postgresql://... (or TELERAD_GROUP)",
              file=sys.stderr)
        return 2
    with workstation(args) as ws:
        if args.review_action == "next":
            found = group.review_next(ws)
            if found is None:
                print("telerad review next: no colleague report to review", file=sys.stderr)
                return NONE_LEFT
            _print_offer(_row(found), args.json)
        elif args.review_action == "score":
            scored = group.review_score(ws, args.report_id, args.score, args.note)
            print(f"{scored.report_id}: scored {args.score.strip().lower()}")
        elif args.review_action == "summary":
            _print_summary([_flat(s) for s in group.review_summary(ws)], args)
        else:
            from app.group.peer_review import configure

            rule = configure(group.require(ws).db, fraction=args.fraction, seed=args.seed)
            print(json.dumps(asdict(rule)))
    return 0


def _row(offer: Any) -> dict[str, Any]:
    return {**asdict(offer), "sampled_at": offer.sampled_at.isoformat()}


def _print_offer(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(row, indent=2))
    else:
        print(f"report {row['report_id']} by {row['reader']} ({row['facility']}), study {row['study_uid']}")


def _flat(s: Any) -> dict[str, Any]:
    return {"reader": s.reader, "sampled": s.sampled, "reviewed": s.reviewed, "concordant_pct": s.concordant_pct,
            **{f"score_{k}": v for k, v in s.scores.items()}}


def _print_summary(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    columns = ["reader", "sampled", "reviewed", "concordant_pct", "score_1", "score_2a", "score_2b", "score_3a",
               "score_3b"]
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) if rows else len(c) for c in columns]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(("" if r[c] is None else str(r[c])).ljust(w) for c, w in zip(columns, widths)))
