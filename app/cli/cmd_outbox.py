"""`telerad outbox`: the durable delivery queue of signed reports.

    telerad outbox [--json]              state per item (queued, sending, sent, failed with reason)
    telerad outbox send [--once]         send due items (--once: one pass; default: until all are sent)
    telerad outbox retry [SOP_UID ...]   make failed items due now (all failed items without UIDs)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the queue as JSON")
    subs = parser.add_subparsers(dest="outbox_command", metavar="ACTION")
    p = subs.add_parser("send", help="send due items with progress (Ctrl-C cancels)")
    p.add_argument("--once", action="store_true", help="one pass over the due items, then exit")
    p = subs.add_parser("retry", help="make failed items due now")
    p.add_argument("uids", nargs="*", metavar="SOP_UID")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        ctx = ws.reporting(with_cache=False)
        if args.outbox_command == "send":
            return _send(ctx, args.once)
        if args.outbox_command == "retry":
            return _retry(ctx, args.uids)
        return _list(ctx, args.json)


def item_rows(ctx: Any) -> list[dict[str, Any]]:
    """The documented JSON form: one object per queued file."""
    roles = {r[0]: (r[1], r[2]) for r in ctx.store.db.execute(
        "SELECT o.sop_instance_uid, o.role, r.study_uid FROM report_outputs o JOIN reports r ON r.id = o.report_id")}
    rows = []
    for i in ctx.store.outbox(lambda p, n: None).items():
        role, study = roles.get(i.sop_instance_uid, ("", ""))
        rows.append({"sop_instance_uid": i.sop_instance_uid, "report_id": i.report_id, "study_uid": study,
                     "role": role, "node": i.node, "state": i.state, "attempts": i.attempts,
                     "next_attempt_at": i.next_attempt_at if i.state != "sent" else None,
                     "last_error": i.last_error, "path": i.path})
    return rows


def _list(ctx: Any, as_json: bool) -> int:
    rows = item_rows(ctx)
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("outbox is empty")
    now = time.time()
    for r in rows:
        due = ""
        if r["state"] == "failed":
            due = f" retry in {max(0, int(r['next_attempt_at'] - now))} s"
        error = f" ({r['last_error']})" if r["last_error"] and r["state"] != "sent" else ""
        print(f"{r['state']:8} {r['role']:5} {r['node']:12} attempts={r['attempts']}{due} {r['sop_instance_uid']}"
              f"{error}")
    return 0


def _send(ctx: Any, once: bool) -> int:
    from app.cli.progress import TerminalProgress, cancel_on_sigint
    from app.reporting.runner import OutboxBusy, run_outbox
    from app.tasks import Cancelled

    try:
        with cancel_on_sigint() as cancel:
            outbox = ctx.outbox(cancel)
            summary = run_outbox(outbox, ctx.home, once=once, cancel=cancel, progress=TerminalProgress("outbox"))
    except OutboxBusy as exc:
        print(f"telerad outbox send: {exc}", file=sys.stderr)
        return 3
    except Cancelled:
        print("outbox send cancelled (unsent items stay queued)", file=sys.stderr)
        return 130
    print(f"{summary.sent} sent, {summary.failed} failed attempts, {summary.pending} pending"
          + (f", {summary.recovered} interrupted sends resumed" if summary.recovered else ""))
    return 0 if summary.failed == 0 and (once or summary.pending == 0) else 1


def _retry(ctx: Any, uids: list[str]) -> int:
    outbox = ctx.store.outbox(lambda p, n: None)
    failed = [i.sop_instance_uid for i in outbox.items() if i.state == "failed"]
    chosen = [u for u in failed if not uids or u in uids]
    for uid in chosen:
        outbox.retry_now(uid)
    print(f"{len(chosen)} failed item(s) due now")
    return 0
