"""`telerad --group URL rules set NAME --reader R [--reader R2] [--facility F] [--modality M] [--priority P]
[--subspecialty S]`, `rules list [--json]`, `rules remove NAME`: assignment rules of the group's queue (a
worklist filter and the readers its studies go to; see app.group.rules)."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from app.cli.context import workstation
from app.cli.listing import print_records


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="rules_action", metavar="ACTION", required=True)
    put = subs.add_parser("set", help="create or replace a rule: studies matching the filter go to these readers")
    put.add_argument("name")
    put.add_argument("--reader", action="append", default=[], required=True, help="a reader of the rule (repeat)")
    put.add_argument("--facility", help="only this facility's studies (default: any)")
    put.add_argument("--modality", help="only this modality, e.g. CT (default: any)")
    put.add_argument("--priority", choices=("STAT", "urgent", "routine"), help="only this priority (default: any)")
    put.add_argument("--subspecialty", help="only this subspecialty (default: any)")
    listing = subs.add_parser("list", help="the group's assignment rules")
    listing.add_argument("--json", action="store_true")
    remove = subs.add_parser("remove", help="delete a rule")
    remove.add_argument("name")


def execute(args: argparse.Namespace) -> int:
    from app.group import list_rules, remove_rule, set_rule
    from app.workstation.group import require

    with workstation(args) as ws:
        db = require(ws).db
        if args.rules_action == "set":
            rule = set_rule(db, args.name, args.reader, facility=args.facility, modality=args.modality,
                            priority=args.priority, subspecialty=args.subspecialty)
            print(_line(rule))
        elif args.rules_action == "remove":
            remove_rule(db, args.name)
            print(f"rule {args.name} removed")
        else:
            print_records(list_rules(db), args.json, _line,
                          "no assignment rules: every study goes to every reader allowed to read it")
    return 0


def _line(rule: object) -> str:
    d = asdict(rule)  # type: ignore[call-overload]
    where = ", ".join(f"{k} {d[k]}" for k in ("facility", "modality", "priority", "subspecialty") if d[k]) or "all"
    return f"{d['name']}: {where} -> {', '.join(d['readers'])}"
