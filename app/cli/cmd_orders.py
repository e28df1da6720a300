"""`telerad orders`: the orders received from the RIS, with the cached study each matches or
"awaiting images" (``--awaiting``: those only; ``--json`` for scripts)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON array (every field)")
    parser.add_argument("--awaiting", action="store_true", help="only orders without images yet")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        rows = ws.order_list(awaiting_only=args.awaiting)
    if args.json:
        out = [{**asdict(order), "priority": order.priority.value, "study_uid": study,
                "awaiting_images": study is None} for order, study in rows]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no orders" + (" awaiting images" if args.awaiting else ""))
        return 0
    for order, study in rows:
        where = study or "awaiting images"
        procedure = order.procedure_text or order.procedure_code
        print(f"{order.accession:<16} {order.priority.value:<8} {procedure[:28]:<28} {where}")
        if order.reason:
            print(f"    reason: {order.reason}")
    return 0
