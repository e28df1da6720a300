"""`telerad audit verify | export-status | flush`: the local hash-chained audit log and its export spool."""

from __future__ import annotations

import argparse
import sys

from app.cli.context import workstation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    subs.add_parser("verify", help="check the hash chain of the local audit log (exit 1 if broken)")
    subs.add_parser("export-status", help="the export spool: sent, unsent, oldest unsent, last error")
    subs.add_parser("flush", help="deliver the unsent events to the audit repository now")


def execute(args: argparse.Namespace) -> int:
    with workstation(args) as ws:
        if args.audit_command == "verify":
            ok, bad = ws.audit_verify()
            if not ok:
                print(f"telerad audit verify: the chain is broken at record {bad}", file=sys.stderr)
                return 1
            print(f"audit log intact: {len(ws.audit.records())} records")
            return 0
        if args.audit_command == "flush":
            sent = ws.flush_audit()
            print(f"sent {sent} event(s)")
        status = ws.audit_export_status()
    spool = status.spool
    print(f"repository:    {status.repository or 'none (export off: audit.json has no repository.host)'}")
    print(f"sent:          {spool.sent}")
    print(f"unsent:        {spool.unsent}" + (f" (oldest {spool.oldest_unsent}, {spool.max_attempts} attempts)"
                                               if spool.unsent else ""))
    if status.sender_error or spool.last_error:
        print(f"last error:    {status.sender_error or spool.last_error}")
    return 0
